"""Tasks in the activity stream of the partner or deal they are linked to
(:mod:`groupware.stream`), and the partner's open tasks; only tasks the reader may
see."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, visible
from groupware.i18n import _l, format_datetime, gettext
from groupware.stream import StreamItem, StreamSource, Target, Window, ordered
from groupware.tasks.models import PRIORITY_LABELS, STATUS_LABELS, Task

KIND = "task"
OPEN = ("open", "in_progress")
# The record types a task links to, by the task's column that names them.
LINKED = {"partners": Task.partner_id, "deals": Task.deal_id}


def _linked(who: Who, on: Target) -> Select[Any]:
    return select(Task).where(LINKED[on.record_type] == on.record_id, visible(Task, who, "view"))


def stream_items(session: Session, who: Who, on: Target, window: Window) -> list[StreamItem]:
    """Tasks linked to the record, by when they were made, newest first."""
    query = (
        _linked(who, on)
        .where(window.clause(KIND, Task.created_at, Task.id))
        .options(joinedload(Task.owner), joinedload(Task.team))
        .order_by(*ordered(window, Task.created_at, Task.id))
        .limit(window.limit)
    )
    return [_item(task) for task in session.scalars(query)]


def _item(task: Task) -> StreamItem:
    facts = [str(STATUS_LABELS[task.status])]
    if task.priority in ("high", "urgent"):
        facts.append(str(PRIORITY_LABELS[task.priority]))
    if task.due_at is not None:
        facts.append(gettext("due %(when)s", when=format_datetime(task.due_at)))
    holder = task.owner.full_name if task.owner else (task.team.name if task.team else "")
    return StreamItem(
        at=task.created_at,
        kind=KIND,
        ident=task.id,
        title=task.title,
        text=task.description[:300],
        author=holder,
        link=f"/tasks/{task.id}",
        facts=tuple(facts),
    )


def open_tasks(session: Session, who: Who, partner_id: int, *, limit: int = 20) -> list[Task]:
    """The partner's open tasks the reader may see, the most pressing first."""
    query = (
        _linked(who, Target("partners", partner_id, None))
        .where(Task.status.in_(OPEN))
        .options(joinedload(Task.owner), joinedload(Task.team))
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        .limit(limit)
    )
    return list(session.scalars(query))


SOURCE = StreamSource(
    KIND,
    _l("Tasks"),
    _l("task"),
    stream_items,
    serves=lambda record_type: record_type in LINKED,
    order=40,
)
