"""Web sessions: a random token in a cookie, its SHA-256 in the database.

A session ends after ``session_idle_minutes`` without a request or
``session_absolute_hours`` after login. Every login creates a new session (a new id),
so a session id planted before login is worthless.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, joinedload

from groupware.accounts.models import User, WebSession
from groupware.db import Database, utcnow
from groupware.jobs import Job
from groupware.settings import Settings

# Writing last_seen_at on every request would turn every page view into a write.
TOUCH_EVERY = dt.timedelta(seconds=60)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    session: Session, user: User, *, address: str = "", user_agent: str = ""
) -> tuple[str, WebSession]:
    token = secrets.token_urlsafe(32)
    row = WebSession(
        id=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        address=address[:64],
        user_agent=user_agent[:300],
    )
    session.add(row)
    user.last_login_at = utcnow()
    session.flush()
    return token, row


def _expired(row: WebSession, settings: Settings, now: dt.datetime) -> bool:
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    absolute = dt.timedelta(hours=settings.session_absolute_hours)
    return now - row.last_seen_at > idle or now - row.created_at > absolute


# Built once: every request runs it, and building it cost more than running it.
_SESSION_WITH_USER = (
    select(WebSession)
    .where(WebSession.id == bindparam("session_id"))
    .options(joinedload(WebSession.user))
)


def resume_session(
    session: Session, settings: Settings, token: str | None
) -> tuple[WebSession | None, Callable[[Session], None] | None]:
    """The live session for a cookie token, or None.

    The second value is bookkeeping to do in a separate, short write transaction
    (deleting an expired session, noting activity): a page view reads, and should not
    turn into a write that waits for or competes with other writers.
    """
    if not token or len(token) > 100:
        return None, None
    session_id = token_hash(token)
    row = session.scalar(_SESSION_WITH_USER, {"session_id": session_id})
    if row is None:
        return None, None
    now = utcnow()
    if _expired(row, settings, now) or not row.user.is_active:
        return None, lambda s: end_session(s, token)
    if now - row.last_seen_at > TOUCH_EVERY:
        return row, lambda s: _touch(s, session_id, now)
    return row, None


def _touch(session: Session, session_id: str, now: dt.datetime) -> None:
    session.execute(update(WebSession).where(WebSession.id == session_id).values(last_seen_at=now))


def end_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.id == token_hash(token)))


def end_all_sessions(session: Session, user_id: int, *, keep: str | None = None) -> None:
    """Log a user out everywhere (after a password change or when disabled)."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.id != keep)
    session.execute(query)


def list_sessions(session: Session, user_id: int) -> list[WebSession]:
    return list(
        session.scalars(
            select(WebSession)
            .where(WebSession.user_id == user_id)
            .order_by(WebSession.last_seen_at.desc())
        )
    )


def prune(session: Session, settings: Settings) -> int:
    now = utcnow()
    idle_cutoff = now - dt.timedelta(minutes=settings.session_idle_minutes)
    absolute_cutoff = now - dt.timedelta(hours=settings.session_absolute_hours)
    result = session.execute(
        delete(WebSession).where(
            (WebSession.last_seen_at < idle_cutoff) | (WebSession.created_at < absolute_cutoff)
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _prune_job(session: Session, database: Database) -> int:
    return prune(session, database.settings)


PRUNE_JOB = Job("prune-sessions", _prune_job, "Delete expired web sessions.")
