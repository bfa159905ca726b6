"""The task figures of the dashboard: the scope's open tasks that are overdue and those
due later today, each count a link to the task list narrowed the same way
(:func:`groupware.tasks.service.due_clause`)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import joinedload

from groupware.access.policy import visible
from groupware.dashboard import Widget, WidgetArgs
from groupware.i18n import _l
from groupware.tasks.models import Task
from groupware.tasks.service import Due, due_clause, team_clause

SHOWN = 5  # tasks listed under each count


def _in_scope(args: WidgetArgs) -> ColumnElement[bool]:
    scope = args.scope
    if scope.kind == "own":
        clause: ColumnElement[bool] = Task.owner_id == scope.user_id
    elif scope.kind == "team" and scope.team_id is not None:
        clause = team_clause(scope.team_id)
    else:
        clause = true()
    return clause


def list_url(args: WidgetArgs, due: Due) -> str:
    """The task list with the scope's tasks ``due`` today or overdue."""
    scope = args.scope
    params: dict[str, Any] = {"view": "mine" if scope.kind == "own" else "all", "due": due}
    if scope.kind == "team":
        params["team_id"] = scope.team_id
    return "/tasks?" + urllib.parse.urlencode(params)


@dataclass(frozen=True)
class DueTasks:
    due: Due
    label: Any
    count: int
    tasks: list[Task]
    href: str


def due_tasks(args: WidgetArgs, due: Due, label: Any) -> DueTasks:
    conditions = (
        visible(Task, args.who, whole=True),
        Task.status.in_(("open", "in_progress")),
        _in_scope(args),
        due_clause(due, args.now),
    )
    count = args.session.scalar(select(func.count()).select_from(Task).where(*conditions))
    tasks = args.session.scalars(
        select(Task)
        .where(*conditions)
        .options(joinedload(Task.owner), joinedload(Task.team))
        .order_by(Task.due_at, Task.id)
        .limit(SHOWN)
    )
    return DueTasks(due, label, int(count or 0), list(tasks), list_url(args, due))


def task_figures(args: WidgetArgs) -> dict[str, Any]:
    return {
        "groups": [
            due_tasks(args, "overdue", _l("Overdue")),
            due_tasks(args, "today", _l("Due today")),
        ],
        "mine": args.scope.kind == "own",
    }


WIDGET = Widget(
    "tasks-due",
    _l("Tasks due"),
    "tasks/_widget_due.html",
    task_figures,
    order=30,
    module="tasks",
    scoped=True,
)
