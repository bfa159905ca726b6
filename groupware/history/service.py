"""Reading history, filtered by what the reader may see.

A change is visible when its record is: for records with access rules, the same
condition as the record itself (or, once the record is deleted, a role that sees all
records of its module); for accounts, teams and roles, administrators; everyone sees
the history of their own account.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, access_spec, pk_column, record_models, visible
from groupware.history.models import Change

ACTIONS = ("create", "update", "delete")


def visible_changes(who: Who) -> ColumnElement[bool]:
    if who.system or who.is_admin:
        return true()
    clauses: list[Any] = []
    for rtype, model in record_models().items():
        spec = access_spec(model)
        # A record published to everyone keeps its history (drafts, shares) to those who
        # work on it.
        visible_ids = select(pk_column(model)).where(visible(model, who, public=False))
        if spec.on_record is None and "all" in who.scopes(spec.module, "view"):
            clauses.append(Change.record_type == rtype)
        else:
            clauses.append(and_(Change.record_type == rtype, Change.record_id.in_(visible_ids)))
    if who.id is not None:
        clauses.append(and_(Change.record_type == "users", Change.record_id == who.id))
    return or_(*clauses) if clauses else false()


def changes_query(
    who: Who,
    *,
    record_type: str | None = None,
    record_id: int | None = None,
    actor_id: int | None = None,
    channel: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> Select[Any]:
    """The changes ``who`` may see that match the filters (in no order)."""
    query = select(Change).where(visible_changes(who))
    if record_type:
        query = query.where(Change.record_type == record_type)
    if record_id is not None:
        query = query.where(Change.record_id == record_id)
    if actor_id is not None:
        query = query.where(Change.actor_id == actor_id)
    if channel:
        query = query.where(Change.channel == channel)
    if action:
        query = query.where(Change.action == action)
    if since is not None:
        query = query.where(Change.at >= since)
    if until is not None:
        query = query.where(Change.at < until)
    return query


def list_changes(
    session: Session,
    who: Who,
    *,
    before_id: int | None = None,
    limit: int = 50,
    **filters: Any,
) -> list[Change]:
    """Newest first; page on with ``before_id`` (the last id of the previous page)."""
    query = changes_query(who, **filters).options(joinedload(Change.actor))
    if before_id is not None:
        query = query.where(Change.id < before_id)
    return list(session.scalars(query.order_by(Change.id.desc()).limit(limit)))


def changes_by_id(session: Session, ids: list[int]) -> list[Change]:
    """The changes of ``ids`` (the caller found them through :func:`changes_query`)."""
    query = select(Change).where(Change.id.in_(ids)).options(joinedload(Change.actor))
    return list(session.scalars(query))


def record_changes(
    session: Session, record_type: str, record_id: int, *, limit: int = 200
) -> list[Change]:
    """The history of one record the caller has already been allowed to see."""
    return list(
        session.scalars(
            select(Change)
            .where(Change.record_type == record_type, Change.record_id == record_id)
            .options(joinedload(Change.actor))
            .order_by(Change.id.desc())
            .limit(limit)
        )
    )
