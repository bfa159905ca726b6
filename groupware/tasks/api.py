"""API: ``/tasks`` (the three lists, create, change, answer, hand on, take, progress,
cancel) and ``/freebusy`` (busy times of people, as the occupancy view has them)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import selectinload

from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.caldav import occupancy
from groupware.crm.api import Ref
from groupware.errors import Invalid
from groupware.i18n import _l
from groupware.tasks import service
from groupware.tasks.models import Task
from groupware.validation import Moment, Schema

api = Api("tasks")


class TaskQuery(PageQuery):
    view: Literal["mine", "delegated", "team", "all"] = "mine"
    closed: bool = False


class DelegationOut(Out):
    from_user_id: int | None
    to_user_id: int | None
    to_team_id: int | None
    note: str
    response: str
    reason: str
    at: dt.datetime
    responded_at: dt.datetime | None


class TaskOut(Out):
    id: int
    title: str
    description: str
    status: str
    response: str
    priority: str
    progress: int
    starts_at: dt.datetime | None
    due_at: dt.datetime | None
    owner: Ref | None
    team: Ref | None
    created_by_id: int | None
    partner_id: int | None
    deal_id: int | None
    completed_at: dt.datetime | None
    delegations: list[DelegationOut]


def task_out(task: Task) -> TaskOut:
    return TaskOut.of(
        task, owner=Ref(id=task.owner.id, name=str(task.owner)) if task.owner else None
    )


@api.operation(
    "GET",
    "/tasks",
    summary="Your tasks, those you handed on, or your team's (open, or closed)",
    response=TaskOut,
    query=TaskQuery,
    paginated=True,
)
def list_tasks(call: Call) -> tuple[list[TaskOut], str | None]:
    q: TaskQuery = call.query
    query = service.tasks_query(call.who, q.view, closed=q.closed).order_by(None).order_by(Task.id)
    after = q.after_id()
    if after is not None:
        query = query.where(Task.id > after)
    query = query.options(selectinload(Task.delegations)).limit(q.limit + 1)
    page, cursor = page_of(list(call.db.scalars(query).unique()), q.limit)
    return [task_out(t) for t in page], cursor


def _one(call: Call, task_id: int) -> TaskOut:
    return task_out(service.get_task_for_user(call.db, call.who, task_id))


@api.operation(
    "POST", "/tasks", summary="Make a task", response=TaskOut, body=service.TaskIn, status=201
)
def create_task(call: Call) -> TaskOut:
    return _one(call, service.create_task(call.db, call.who, call.body).id)


@api.operation(
    "GET", "/tasks/{task_id}", summary="One task and its delegation chain", response=TaskOut
)
def get_task(call: Call) -> TaskOut:
    return _one(call, call.int_param("task_id"))


@api.operation(
    "PUT", "/tasks/{task_id}", summary="Change a task", response=TaskOut, body=service.TaskEdit
)
def put_task(call: Call) -> TaskOut:
    return _one(
        call, service.update_task(call.db, call.who, call.int_param("task_id"), call.body).id
    )


@api.operation(
    "POST",
    "/tasks/{task_id}/answer",
    summary="Accept a task given to you, or reject it with a reason",
    response=TaskOut,
    body=service.AnswerIn,
)
def answer_task(call: Call) -> TaskOut:
    return _one(
        call, service.answer_task(call.db, call.who, call.int_param("task_id"), call.body).id
    )


@api.operation(
    "POST",
    "/tasks/{task_id}/delegate",
    summary="Hand a task on to a person or a team",
    response=TaskOut,
    body=service.DelegateIn,
)
def delegate_task(call: Call) -> TaskOut:
    task = service.delegate_task(call.db, call.who, call.int_param("task_id"), call.body)
    return _one(call, task.id)


@api.operation(
    "POST", "/tasks/{task_id}/take", summary="Take a task waiting in your team", response=TaskOut
)
def take_task(call: Call) -> TaskOut:
    return _one(call, service.take_task(call.db, call.who, call.int_param("task_id")).id)


@api.operation(
    "POST",
    "/tasks/{task_id}/progress",
    summary="Set a task's progress (100, or status done, completes it)",
    response=TaskOut,
    body=service.ProgressIn,
)
def progress_task(call: Call) -> TaskOut:
    task = service.set_progress(call.db, call.who, call.int_param("task_id"), call.body)
    return _one(call, task.id)


@api.operation("POST", "/tasks/{task_id}/cancel", summary="Cancel a task", response=TaskOut)
def cancel_task(call: Call) -> TaskOut:
    return _one(call, service.cancel_task(call.db, call.who, call.int_param("task_id")).id)


class FreeBusyQuery(Schema):
    user_ids: str = Field(min_length=1, max_length=400, description="comma-separated user ids")
    start: Moment
    end: Moment


class BusyOut(BaseModel):
    user_id: int
    start: dt.datetime
    end: dt.datetime
    kind: str
    title: str | None


class FreeBusyOut(BaseModel):
    busy: list[BusyOut]


@api.operation(
    "GET",
    "/freebusy",
    summary="Busy times of people (titles only for your own), at most two months",
    response=FreeBusyOut,
    query=FreeBusyQuery,
)
def freebusy(call: Call) -> FreeBusyOut:
    q: FreeBusyQuery = call.query
    try:
        ids: list[int] = [int(x) for x in q.user_ids.split(",") if x.strip()][:50]
    except ValueError:
        raise Invalid({"user_ids": _l("Give user ids separated by commas.")}) from None
    if q.start.tzinfo is None or q.end.tzinfo is None:
        raise Invalid({"start": _l("Give the time with its time zone.")})
    try:
        times = occupancy.busy(call.db, call.who.id, ids, q.start, q.end)
    except ValueError:
        raise Invalid(
            {"end": _l("The end must come after the start, at most two months later.")}
        ) from None
    return FreeBusyOut(
        busy=[
            BusyOut(user_id=b.user_id, start=b.start, end=b.end, kind=b.kind, title=b.title)
            for b in times
        ]
    )
