"""Overdue tasks for the alert job: an open task past its due date (subject ``due``),
to its owner and, after the grace days, their team leads (see
:mod:`groupware.phases.alerts`). A task waiting in a team has no owner; the job then
alerts nobody until someone takes it, and the team list shows it as overdue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Date, Select, func, literal, select
from sqlalchemy.orm import Session

from groupware.i18n import _
from groupware.phases.alerts import AlertSource, Message, Raised, late_message
from groupware.tasks.models import Task

CHUNK = 5000


def late_tasks(before: dt.date) -> Select[Any]:
    # A task due during a day is late from the next one (by its day in UTC).
    late = select(
        Task.id.label("record_id"),
        literal("due").label("subject"),
        func.date(Task.due_at, type_=Date).label("due"),
        Task.owner_id.label("owner_id"),
    ).where(
        Task.status.in_(("open", "in_progress")),
        Task.owner_id.is_not(None),
        Task.due_at < dt.datetime.combine(before, dt.time(), tzinfo=dt.UTC),
    )
    return select(late.subquery())


def messages(session: Session, raised: Sequence[Raised], today: dt.date) -> dict[int, Message]:
    ids = sorted({r.record_id for r in raised})
    titles: dict[int, str] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = session.execute(select(Task.id, Task.title).where(Task.id.in_(chunk)))
        titles.update((row.id, row.title) for row in rows)
    result: dict[int, Message] = {}
    for r in raised:
        title = titles.get(r.record_id)
        if title is not None:
            result[r.alert_id] = _message(r, title, today)
    return result


def _message(r: Raised, title: str, today: dt.date) -> Message:
    return late_message(
        r, today, f"/tasks/{r.record_id}", lambda: _("Task %(title)s is overdue", title=title)
    )


SOURCE = AlertSource("tasks", late_tasks, messages)
