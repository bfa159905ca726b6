"""The tasks list as people shape it (:mod:`groupware.lists`), declared in the tasks'
``area.py``: it opens on the user's own open tasks, the soonest due first. The
dashboard's figures narrow it to the tasks due today or overdue and to a team's, which
the list names above its rows. Bulk actions: another priority (with its undo), and
cancelling (through the tasks' service, which tells the calendars; cancelled tasks are
found among the closed ones)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, case, func
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.accounts.models import Team, User
from groupware.crm.models import Partner
from groupware.deals.models import Deal
from groupware.i18n import _l, ngettext
from groupware.lists import narrow
from groupware.lists.bulk import field_action
from groupware.lists.declare import BulkAction, Column, ListDef
from groupware.tasks import service
from groupware.tasks.models import PRIORITY_LABELS, RESPONSE_LABELS, STATUS_LABELS, Task
from groupware.validation import parse_id

VIEWS: dict[str, Any] = {
    "mine": _l("My tasks"),
    "delegated": _l("Delegated by me"),
    "team": _l("My team"),
    "all": _l("All I may see"),
}


DUE: dict[str, Any] = {"overdue": _l("Overdue"), "today": _l("Due today")}


def _rows(who: Who, filters: Mapping[str, str], action: str) -> Select[Any]:
    view = filters.get("view", "mine")
    due = filters.get("due", "")
    return service.task_filter(
        who,
        view if view in VIEWS else "mine",  # type: ignore[arg-type]
        closed=filters.get("closed") == "1",
        q=filters.get("q", "")[:100],
        action=action,
        due=due if due in DUE else None,  # type: ignore[arg-type]
        team_id=parse_id(filters.get("team_id", "")),
        # The database's clock: a statement is kept and used again all day (lists.engine).
        clock=func.current_timestamp(),
    )


def _while_open(when: Any) -> Any:
    """A time that makes a task late once past, while the task is open."""
    return case((Task.status.in_(("open", "in_progress")), when), else_=None)


# -- the filters the dashboard's figures set, in words ---------------------------------


def _due(session: Session, who: Who, value: str) -> str:
    return str(DUE[value]) if value in DUE else ""


def _push(session: Session, task: Task) -> None:
    service.after_change(session, task)


def _cancel(session: Session, who: Who, ids: Sequence[int], value: str) -> None:
    for task_id in ids:
        service.cancel_task(session, who, task_id)


TASKS = ListDef(
    name="tasks",
    label=_l("Tasks"),
    endpoint="tasks",
    model=Task,
    module="tasks",
    query=_rows,
    filters=("view", "closed", "q", "due", "team_id"),
    narrowing={"due": _due, "team_id": narrow.team},
    columns=(
        Column(
            "title",
            _l("Task"),
            Task.title,
            link=("/tasks/{id}", Task.id),
            badge=(Task.response, {"pending": RESPONSE_LABELS["pending"]}),
        ),
        Column(
            "responsible",
            _l("Responsible"),
            func.coalesce(User.full_name, Team.name),
            join=("owner", "team"),
        ),
        Column(
            "due",
            _l("Due"),
            Task.due_at,
            show="datetime",
            overdue=(_while_open(Task.due_at),),
        ),
        Column("priority", _l("Priority"), Task.priority, show="choice", choices=PRIORITY_LABELS),
        Column("status", _l("Status"), Task.status, show="choice", choices=STATUS_LABELS),
        Column("progress", _l("Progress"), Task.progress, show="percent"),
        Column(
            "partner",
            _l("Partner"),
            Partner.name,
            link=("/partners/{id}", Task.partner_id),
            join=("partner",),
        ),
        Column("deal", _l("Deal"), Deal.title, link=("/deals/{id}", Task.deal_id), join=("deal",)),
        Column("starts", _l("Starts"), Task.starts_at, show="datetime"),
        Column("created", _l("Created"), Task.created_at, show="date"),
    ),
    joins={
        "owner": lambda q: q.outerjoin(User, User.id == Task.owner_id),
        "team": lambda q: q.outerjoin(Team, Team.id == Task.team_id),
        "partner": lambda q: q.outerjoin(Partner, Partner.id == Task.partner_id),
        "deal": lambda q: q.outerjoin(Deal, Deal.id == Task.deal_id),
    },
    default_columns=("title", "responsible", "due", "priority", "status", "progress"),
    default_sort="due",
    default_filters={"view": "mine"},
    bulk=(
        field_action(
            "priority",
            _l("Change the priority"),
            Task,
            "priority",
            choices=narrow.labelled(PRIORITY_LABELS),
            value_label=_l("New priority"),
            after=_push,
        ),
        BulkAction("cancel", _l("Cancel"), _cancel, danger=True),
    ),
    page_size=100,
    count=lambda n: ngettext("%(num)d task", "%(num)d tasks", n),
)
