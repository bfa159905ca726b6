"""Tasks: create, edit, assign or delegate (to a user or a team), accept or reject with
a reason, take a team's task, progress, complete, cancel; the three lists.

Every function takes the acting :class:`Who` and loads the task through the one access
helper (:func:`get_task_for_user`). Each change ends with :func:`_changed`, which puts
the task into its owner's CRM task list (a VTODO) unless the change came from that
list (``push=False``, see :mod:`groupware.tasks.calendar`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import ColumnElement, Select, and_, case, literal, or_, select
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, get_for_user, require, visible
from groupware.accounts.models import Team, TeamMember, User
from groupware.crm.models import Partner
from groupware.db import escape_like, utcnow
from groupware.deals.models import Deal
from groupware.errors import Forbidden, Invalid
from groupware.i18n import _, _l, local_time
from groupware.notifications.service import notify
from groupware.search import Terms
from groupware.search.words import matching
from groupware.tasks.models import TASKS_WORDS, Task, TaskDelegation
from groupware.validation import LocalWhole, OptionalId, OptionalLocalDateTime, Schema, fail

MODULE = "tasks"
Priority = Literal["low", "normal", "high", "urgent"]
View = Literal["mine", "delegated", "team", "all"]


class TaskIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    priority: Priority = "normal"
    starts_at: OptionalLocalDateTime = None
    due_at: OptionalLocalDateTime = None
    assignee_id: OptionalId = None  # nobody and no team: the one who makes it
    team_id: OptionalId = None
    partner_id: OptionalId = None
    deal_id: OptionalId = None
    note: str = Field(default="", max_length=1000)

    @field_validator("due_at")
    @classmethod
    def _due_after_start(cls, value: dt.datetime | None, info: ValidationInfo) -> Any:
        started = info.data.get("starts_at")
        if value is not None and started is not None and value < started:
            raise fail(_l("The task cannot be due before it starts."))
        return value

    @model_validator(mode="after")
    def _one_assignee(self) -> TaskIn:
        if self.assignee_id is not None and self.team_id is not None:
            raise Invalid({"team_id": _l("Give the task to a person or to a team, not both.")})
        return self


class TaskEdit(Schema):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    priority: Priority = "normal"
    starts_at: OptionalLocalDateTime = None
    due_at: OptionalLocalDateTime = None
    partner_id: OptionalId = None
    deal_id: OptionalId = None

    _due_after_start = field_validator("due_at")(TaskIn._due_after_start.__func__)  # type: ignore[attr-defined]


class DelegateIn(Schema):
    assignee_id: OptionalId = None
    team_id: OptionalId = None
    note: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _one(self) -> DelegateIn:
        if (self.assignee_id is None) == (self.team_id is None):
            raise Invalid({"assignee_id": _l("Choose a person or a team to hand the task to.")})
        return self


class AnswerIn(Schema):
    accept: bool
    reason: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _reason(self) -> AnswerIn:
        if not self.accept and not self.reason:
            raise Invalid({"reason": _l("Say why you reject the task.")})
        return self


class ProgressIn(Schema):
    progress: LocalWhole = Field(ge=0, le=100)
    status: Literal["open", "in_progress", "done"] | None = None


def get_task_for_user(session: Session, who: Who, task_id: int, action: str = "view") -> Task:
    return get_for_user(
        session,
        who,
        Task,
        task_id,
        action,
        options=[joinedload(Task.owner), joinedload(Task.team), joinedload(Task.created_by)],
    )


def _user(session: Session, user_id: int, field: str) -> User:
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Invalid({field: _l("There is no such active user.")})
    return user


def _team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise Invalid({"team_id": _l("There is no such team.")})
    return team


def _links(session: Session, who: Who, partner_id: int | None, deal_id: int | None) -> None:
    """A task may link only to a partner and a deal its author may see."""
    if partner_id is not None:
        seen = session.scalar(
            select(Partner.id).where(Partner.id == partner_id, visible(Partner, who, "view"))
        )
        if seen is None:
            raise Invalid({"partner_id": _l("There is no such partner, or you may not see it.")})
    if deal_id is not None:
        seen = session.scalar(select(Deal.id).where(Deal.id == deal_id, visible(Deal, who, "view")))
        if seen is None:
            raise Invalid({"deal_id": _l("There is no such deal, or you may not see it.")})


def _changed(session: Session, task: Task, *, push: bool) -> None:
    session.flush()
    if push:
        from groupware.tasks import calendar

        calendar.push(session, task)


def _hand_over(
    session: Session, who: Who, task: Task, user: User | None, team: Team | None, note: str
) -> None:
    """Give ``task`` to ``user`` or ``team``, as one link of its delegation chain."""
    self_assigned = user is not None and user.id == who.id
    task.owner_id = user.id if user else None
    task.team_id = team.id if team else (task.team_id if user is None else None)
    task.response = "accepted" if self_assigned else "pending"
    if self_assigned and team is None:
        return
    task.delegations.append(
        TaskDelegation(
            from_user_id=who.id,
            to_user_id=user.id if user else None,
            to_team_id=team.id if team else None,
            note=note,
        )
    )
    session.flush()
    giver = who.name
    link = f"/tasks/{task.id}"
    title = task.title
    recipients = [user] if user is not None else _members(session, team)
    for person in recipients:
        if person.id == who.id:
            continue
        notify(
            session,
            person,
            title=lambda: _("%(name)s gave you a task: %(title)s", name=giver, title=title),
            body=note,
            kind="delegation",
            link=link,
            record_type="tasks",
            record_id=task.id,
        )


def _members(session: Session, team: Team | None) -> list[User]:
    if team is None:
        return []
    query = (
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id, User.is_active)
    )
    return list(session.scalars(query))


def create_task(session: Session, who: Who, data: TaskIn, *, push: bool = True) -> Task:
    require(who, MODULE, "create")
    _links(session, who, data.partner_id, data.deal_id)
    user = _user(session, data.assignee_id, "assignee_id") if data.assignee_id else None
    team = _team(session, data.team_id) if data.team_id else None
    if user is None and team is None:
        user = _user(session, who.id, "assignee_id") if who.id else None
    task = Task(
        title=data.title,
        description=data.description,
        priority=data.priority,
        starts_at=data.starts_at,
        due_at=data.due_at,
        partner_id=data.partner_id,
        deal_id=data.deal_id,
        created_by_id=who.id,
    )
    session.add(task)
    session.flush()
    _hand_over(session, who, task, user, team, data.note)
    _changed(session, task, push=push)
    return task


def update_task(
    session: Session, who: Who, task_id: int, data: TaskEdit, *, push: bool = True
) -> Task:
    task = get_task_for_user(session, who, task_id, "edit")
    _links(session, who, data.partner_id, data.deal_id)
    for name, value in data.model_dump().items():
        setattr(task, name, value)
    _changed(session, task, push=push)
    return task


def delegate_task(session: Session, who: Who, task_id: int, data: DelegateIn) -> Task:
    """Hand the task on: its owner, or whoever made it, may."""
    task = get_task_for_user(session, who, task_id, "view")
    if who.id not in (task.owner_id, task.created_by_id) and not who.is_admin:
        raise Forbidden(_l("Only the task's owner or its author can hand it on."))
    _open(task)
    user = _user(session, data.assignee_id, "assignee_id") if data.assignee_id else None
    team = _team(session, data.team_id) if data.team_id else None
    _hand_over(session, who, task, user, team, data.note)
    _changed(session, task, push=True)
    return task


def _open(task: Task) -> None:
    if task.status in ("done", "cancelled"):
        raise Invalid({"status": _l("The task is closed; reopen it first.")})


def _last_delegation(task: Task) -> TaskDelegation | None:
    pending = [d for d in task.delegations if d.response == "pending"]
    return pending[-1] if pending else None


def answer_task(
    session: Session, who: Who, task_id: int, data: AnswerIn, *, push: bool = True
) -> Task:
    """The owner accepts the task, or rejects it with a reason (it goes back)."""
    task = get_task_for_user(session, who, task_id, "view")
    if task.owner_id != who.id:
        raise Forbidden(_l("Only the person the task was given to can answer it."))
    if task.response != "pending":
        raise Invalid({"accept": _l("This task is already answered.")})
    link = _last_delegation(task)
    now = utcnow()
    if link is not None:
        link.response = "accepted" if data.accept else "rejected"
        link.reason = data.reason
        link.responded_at = now
    if data.accept:
        task.response = "accepted"
    else:
        task.response = "rejected"
        back = link.from_user_id if link is not None else task.created_by_id
        task.owner_id = back
        task.team_id = None
        name, title, reason = who.name, task.title, data.reason
        giver = session.get(User, back) if back else None
        if giver is not None and giver.id != who.id:
            notify(
                session,
                giver,
                title=lambda: _("%(name)s rejected the task %(title)s", name=name, title=title),
                body=reason,
                kind="delegation",
                link=f"/tasks/{task.id}",
                record_type="tasks",
                record_id=task.id,
            )
    _changed(session, task, push=push)
    return task


def take_task(session: Session, who: Who, task_id: int) -> Task:
    """A member takes a task waiting in their team."""
    task = get_task_for_user(session, who, task_id, "view")
    if task.owner_id is not None or task.team_id is None:
        raise Invalid({"owner_id": _l("This task is not waiting for someone to take it.")})
    if task.team_id not in who.team_ids and not who.is_admin:
        raise Forbidden(_l("Only a member of the team can take this task."))
    _open(task)
    task.owner_id = who.id
    task.response = "accepted"
    link = _last_delegation(task)
    if link is not None:
        link.response = "accepted"
        link.responded_at = utcnow()
    _changed(session, task, push=True)
    return task


def set_progress(
    session: Session, who: Who, task_id: int, data: ProgressIn, *, push: bool = True
) -> Task:
    task = get_task_for_user(session, who, task_id, "edit")
    if task.status == "cancelled":
        raise Invalid({"status": _l("The task is cancelled.")})
    status = data.status or ("done" if data.progress == 100 else None)
    task.progress = 100 if status == "done" else data.progress
    if status is not None:
        was_done = task.status == "done"
        task.status = status
        task.completed_at = utcnow() if status == "done" else None
        if status == "done" and not was_done:
            _tell_author(session, who, task)
    elif task.status == "open" and data.progress > 0:
        task.status = "in_progress"
    _changed(session, task, push=push)
    return task


def _tell_author(session: Session, who: Who, task: Task) -> None:
    author = task.created_by
    if author is None or author.id == who.id or not author.is_active:
        return
    name, title = who.name, task.title
    notify(
        session,
        author,
        title=lambda: _("%(name)s completed the task %(title)s", name=name, title=title),
        kind="info",
        link=f"/tasks/{task.id}",
        record_type="tasks",
        record_id=task.id,
    )


def cancel_task(session: Session, who: Who, task_id: int, *, push: bool = True) -> Task:
    task = get_task_for_user(session, who, task_id, "edit")
    task.status = "cancelled"
    _changed(session, task, push=push)
    return task


Due = Literal["today", "overdue"]


def due_clause(due: Due, now: dt.datetime, *, clock: Any = None) -> ColumnElement[bool]:
    """Tasks due before ``now`` (``overdue``) or from ``now`` to the end of the
    company's day (``today``): the dashboard's figures and the lists behind them.
    ``clock`` is what is compared as "now" instead of ``now`` itself (the database's
    clock for a list whose statement is kept and used again all day)."""
    at = now if clock is None else clock
    if due == "overdue":
        return Task.due_at < at
    local = local_time(now)
    midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), local.tzinfo)
    return and_(Task.due_at >= at, Task.due_at < midnight.astimezone(dt.UTC))


def team_clause(team_id: int) -> ColumnElement[bool]:
    """A team's tasks: those waiting in it and those its members hold."""
    members = select(TeamMember.user_id).where(TeamMember.team_id == team_id)
    return or_(Task.team_id == team_id, Task.owner_id.in_(members))


def task_filter(
    who: Who,
    view: View,
    *,
    closed: bool = False,
    q: str = "",
    action: str = "view",
    due: Due | None = None,
    team_id: int | None = None,
    now: dt.datetime | None = None,
    clock: Any = None,
) -> Select[Any]:
    """The tasks of a list: ``mine`` (I am responsible), ``delegated`` (I handed them
    on or made them for others), ``team`` (my teams' people and waiting team tasks),
    ``all`` (every task I may see, shared ones too); open ones, or with ``closed`` the
    done and cancelled; with ``q``, those whose title holds it; narrowed to those
    ``due`` today or overdue (:func:`due_clause`) and to one team's."""
    query = select(Task).where(visible(Task, who, action))
    statuses = ("done", "cancelled") if closed else ("open", "in_progress")
    query = query.where(Task.status.in_(statuses))
    if q.strip():
        query = query.where(Task.title.ilike(f"%{escape_like(q.strip())}%", escape="\\"))
    if view == "mine":
        query = query.where(Task.owner_id == who.id)
    elif view == "delegated":
        handed = select(TaskDelegation.task_id).where(TaskDelegation.from_user_id == who.id)
        query = query.where(
            or_(Task.created_by_id == who.id, Task.id.in_(handed)),
            or_(Task.owner_id.is_(None), Task.owner_id != who.id),
        )
    elif view == "team":
        members = select(TeamMember.user_id).where(TeamMember.team_id.in_(who.team_ids))
        query = query.where(
            or_(Task.team_id.in_(who.team_ids), Task.owner_id.in_(members)),
        )
    if due is not None:
        query = query.where(due_clause(due, now or dt.datetime.now(dt.UTC), clock=clock))
    if team_id is not None:
        query = query.where(team_clause(team_id))
    return query


def tasks_query(
    who: Who,
    view: View,
    *,
    closed: bool = False,
    due: Due | None = None,
    team_id: int | None = None,
    now: dt.datetime | None = None,
) -> Select[Any]:
    """:func:`task_filter` as task objects, the soonest due first."""
    return (
        task_filter(who, view, closed=closed, due=due, team_id=team_id, now=now)
        .order_by(Task.due_at.is_(None), Task.due_at, Task.id)
        .options(joinedload(Task.owner), joinedload(Task.team))
    )


def after_change(session: Session, task: Task) -> None:
    """The task's calendar item follows a change made outside this module (a bulk
    action of the tasks list)."""
    _changed(session, task, push=True)


def search_rows(session: Session, who: Who, terms: Terms) -> Select[Any]:
    """The tasks the header's search finds (``groupware.search``) by the starts of the
    words of their titles: id, title, and the partner's name when ``who`` may see the
    partner too."""
    partner = case((visible(Partner, who), Partner.name), else_=literal(""))
    query = (
        select(Task.id, Task.title, partner)
        .outerjoin(Partner, Partner.id == Task.partner_id)
        .where(visible(Task, who))
    )
    return matching(session, TASKS_WORDS, Task, query, terms)
