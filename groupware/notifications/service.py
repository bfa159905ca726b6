"""Posting, listing and reading notifications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.db import Database, utcnow
from groupware.errors import NotFound
from groupware.i18n import _l, use_language
from groupware.jobs import Job
from groupware.notifications.models import Notification

KINDS = ("info", "alert", "escalation", "delegation", "mention", "mail")


def notify(
    session: Session,
    user: User,
    *,
    title: Callable[[], str] | str,
    body: Callable[[], str] | str = "",
    kind: str = "info",
    link: str = "",
    record_type: str | None = None,
    record_id: int | None = None,
    dedup_key: str | None = None,
) -> Notification | None:
    """Post a notification to ``user`` in their language.

    ``title`` and ``body`` may be callables (or lazy strings), evaluated in the
    recipient's language. With ``dedup_key``, posting again is a no-op and returns None.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if dedup_key is not None and session.scalar(
        select(Notification.id).where(
            Notification.user_id == user.id, Notification.dedup_key == dedup_key
        )
    ):
        return None
    with use_language(user.language):
        title_text = title() if callable(title) else str(title)
        body_text = body() if callable(body) else str(body)
    row = Notification(
        user_id=user.id,
        kind=kind,
        title=title_text[:300],
        body=body_text,
        link=link,
        record_type=record_type,
        record_id=record_id,
        dedup_key=dedup_key,
    )
    if dedup_key is None:
        session.add(row)
        session.flush()
        return row
    try:
        # Two workers may raise the same alert at once; the unique index lets one win.
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


# Built once: the bell of every page runs it.
_UNREAD = (
    select(func.count())
    .select_from(Notification)
    .where(Notification.user_id == bindparam("user_id"), Notification.read_at.is_(None))
)


def unread_count(session: Session, user_id: int) -> int:
    return int(session.scalar(_UNREAD, {"user_id": user_id}) or 0)


def list_for(
    session: Session,
    user_id: int,
    *,
    unread_only: bool = False,
    before_id: int | None = None,
    limit: int = 50,
) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def get_notification_for_user(session: Session, user_id: int, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound(_l("There is no such notification."))
    return row


def mark_read(session: Session, user_id: int, notification_id: int) -> Notification:
    row = get_notification_for_user(session, user_id, notification_id)
    if row.read_at is None:
        row.read_at = utcnow()
    return row


def mark_all_read(session: Session, user_id: int) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def prune(session: Session, *, older_than: dt.timedelta) -> int:
    """Delete read notifications older than ``older_than``."""
    cutoff = utcnow() - older_than
    result = session.execute(
        delete(Notification).where(
            Notification.read_at.is_not(None), Notification.created_at < cutoff
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _prune_job(session: Session, database: Database) -> int:
    return prune(session, older_than=dt.timedelta(days=90))


PRUNE_JOB = Job("prune-notifications", _prune_job, "Delete read notifications after 90 days.")
