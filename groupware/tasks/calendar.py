"""Tasks in calendars, both ways.

:func:`push` writes a task as a VTODO (UID ``task-<id>@groupware``) into its owner's
CRM task list through :mod:`groupware.caldav.store`, so clients see it on their next
sync; when the owner changes, the VTODO moves to the new owner's list. A task with no
owner (waiting in a team) is in nobody's list.

:func:`from_client` is what happens when a client changes that VTODO: its status and
percent-complete become the task's progress (COMPLETED completes it), its summary,
start and due date the task's, and the owner's PARTSTAT on the attendee line accepts
(ACCEPTED) or rejects (DECLINED, the COMMENT as the reason) a task handed to them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from radicale import item as radicale_item
from sqlalchemy.orm import Session

from groupware.access.policy import load_who
from groupware.accounts.models import User
from groupware.caldav import ics, store
from groupware.caldav.models import Calendar
from groupware.db import utcnow
from groupware.errors import GroupwareError
from groupware.tasks import service
from groupware.tasks.models import Task

PREFIX = "task"
STATUS_OUT = {"open": "NEEDS-ACTION", "in_progress": "IN-PROCESS", "done": "COMPLETED",
              "cancelled": "CANCELLED"}  # fmt: skip
PRIORITY_OUT = {"urgent": 1, "high": 3, "normal": 5, "low": 9}
PARTSTAT_OUT = {"pending": "NEEDS-ACTION", "accepted": "ACCEPTED", "rejected": "DECLINED"}


def source_of(task: Task) -> str:
    return f"{PREFIX}:{task.id}"


def href_of(task: Task) -> str:
    return f"task-{task.id}.ics"


def _fields(task: Task) -> dict[str, Any]:
    """What a task's to-do says besides its UID, summary and URL."""
    organizer = attendee = None
    if (
        task.owner is not None
        and task.created_by is not None
        and task.created_by_id != task.owner_id
    ):
        organizer = ics.Person(task.created_by.email, task.created_by.full_name)
        attendee = ics.Person(task.owner.email, task.owner.full_name, PARTSTAT_OUT[task.response])
    return {
        "stamp": utcnow(),
        "description": task.description,
        "start": task.starts_at,
        "due": task.due_at,
        "status": STATUS_OUT[task.status],
        "percent": task.progress,
        "priority": PRIORITY_OUT[task.priority],
        "completed": task.completed_at,
        "organizer": organizer,
        "attendee": attendee,
    }


def vtodo(task: Task, base_url: str = "") -> str:
    return ics.todo(
        uid=f"task-{task.id}@groupware",
        summary=task.title,
        url=f"{base_url}/tasks/{task.id}",
        **_fields(task),
    )


def template_for(task: Task) -> ics.TodoTemplate:
    """The to-do of tasks like ``task`` (the same people, dates and state), for a bulk
    writer's :func:`new_item`."""
    return ics.TodoTemplate(**_fields(task))


def new_item(task: Task, template: ics.TodoTemplate | None = None) -> store.NewItem:
    """A new task's to-do for :func:`groupware.caldav.store.insert_items` (a bulk
    writer's way; the task need not be in a session, its ``owner`` and ``created_by``
    set; ``template``, when given, is :func:`template_for` a task like it)."""
    starts, ends = ics.todo_range(
        due=task.due_at, start=task.starts_at, completed=task.completed_at
    )
    uid, url = f"task-{task.id}@groupware", f"/tasks/{task.id}"
    text = template.render(uid, task.title, url) if template is not None else vtodo(task)
    return store.NewItem(href_of(task), uid, text, starts, ends, source_of(task))


def push(session: Session, task: Task) -> None:
    """Put ``task`` into its owner's task list, and out of anybody else's."""
    source = source_of(task)
    for row in store.item_by_source(session, source):
        if row.calendar.owner_id != task.owner_id:
            store.delete_item(session, row.calendar, row.href)
    if task.owner_id is None:
        return
    owner = session.get(User, task.owner_id)
    if owner is None:
        return
    tasks_list = next(c for c in store.ensure_defaults(session, owner) if c.kind == "tasks")
    (item,) = store.parse_items(vtodo(task))
    store.put_item(session, tasks_list, href_of(task), item, source=source)


def from_client(session: Session, ident: str, item: radicale_item.Item, calendar: Calendar) -> None:
    """Apply a client's change of a task's VTODO (see the module docstring)."""
    task = session.get(Task, int(ident)) if ident.isdigit() else None
    if task is None or task.owner_id != calendar.owner_id:
        return
    owner = session.get(User, calendar.owner_id)
    if owner is None:
        return
    who = load_who(session, owner)
    todo = _first(item.vobject_item, "vtodo")
    if todo is None:
        return
    try:
        _apply(session, who, task, todo)
    except GroupwareError as exc:
        raise ValueError(str(exc.message)) from exc


def _first(component: Any, name: str) -> Any:
    for child in component.getChildren():
        if child.name.lower() == name:
            return child
    return None


def _value(todo: Any, name: str) -> Any:
    found = todo.contents.get(name)
    return found[0].value if found else None


def _when(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.combine(value, dt.time(17, 0), tzinfo=dt.UTC)  # a date: end of day


def _apply(session: Session, who: Any, task: Task, todo: Any) -> None:
    partstat = _partstat(todo, task)
    if task.response == "pending" and partstat in ("ACCEPTED", "DECLINED"):
        reason = str(_value(todo, "comment") or "") or "-"
        answer = service.AnswerIn(accept=partstat == "ACCEPTED", reason=reason)
        service.answer_task(session, who, task.id, answer, push=False)
        if partstat == "DECLINED":
            return  # the task went back to who gave it
    edit = service.TaskEdit(
        title=str(_value(todo, "summary") or task.title)[:200],
        description=str(_value(todo, "description") or task.description),
        priority=task.priority,
        starts_at=_when(_value(todo, "dtstart")),
        due_at=_when(_value(todo, "due")),
        partner_id=task.partner_id,
        deal_id=task.deal_id,
    )
    changed = {k: v for k, v in edit.model_dump().items() if getattr(task, k) != v}
    if changed:
        service.update_task(session, who, task.id, edit, push=False)
    status = str(_value(todo, "status") or "").upper()
    percent = _value(todo, "percent-complete")
    progress = int(percent) if percent is not None and str(percent).isdigit() else task.progress
    wanted = {"COMPLETED": "done", "IN-PROCESS": "in_progress", "NEEDS-ACTION": "open"}.get(status)
    if status == "CANCELLED" and task.status != "cancelled":
        service.cancel_task(session, who, task.id, push=False)
    elif wanted is not None and (wanted != task.status or progress != task.progress):
        data = service.ProgressIn(progress=min(max(progress, 0), 100), status=wanted)
        service.set_progress(session, who, task.id, data, push=False)


def _partstat(todo: Any, task: Task) -> str | None:
    owner = task.owner
    for attendee in todo.contents.get("attendee", []):
        if owner is not None and str(attendee.value).lower() == f"mailto:{owner.email}".lower():
            return str(attendee.params.get("PARTSTAT", [""])[0]).upper()
    return None
