"""Tasks: something to do, by someone, by a date; assigned, delegated, accepted or
rejected, with progress, linked to a partner and a deal.

``owner_id`` is the person responsible now (the "own" scope); a task given to a team
(``team_id``) waits with no owner until a member takes it. Who handed it on, to whom,
when, and the answer (accepted, or rejected with a reason) is the delegation chain
(``task_delegations``). The people in that chain, and the members of the team a task
waits in, count as the task's owners too. ``response`` is the current owner's answer.

A task with an owner appears as a VTODO in the owner's CRM task list (see
:mod:`groupware.tasks.calendar`); ``starts_at`` makes it a timed task, which counts in
the owner's occupancy from ``starts_at`` to ``due_at``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from sqlalchemy.orm.util import identity_key

from groupware.access.policy import Module, RecordAccess, Who
from groupware.accounts.models import Team, TeamMember, User
from groupware.db import Base, utcnow
from groupware.i18n import _l
from groupware.records import DATETIME, PERCENT, RecordType, choice
from groupware.search.words import Words

TASKS_MODULE = Module("tasks", _l("Tasks"))

STATUSES = ("open", "in_progress", "done", "cancelled")
RESPONSES = ("pending", "accepted", "rejected")
PRIORITIES = ("low", "normal", "high", "urgent")
# What each code reads as, for pages and the history alike.
STATUS_LABELS = {
    "open": _l("open"),
    "in_progress": _l("in progress"),
    "done": _l("done"),
    "cancelled": _l("cancelled"),
}
RESPONSE_LABELS = {
    "pending": _l("waiting for an answer"),
    "accepted": _l("accepted"),
    "rejected": _l("rejected"),
}
PRIORITY_LABELS = {
    "low": _l("low"),
    "normal": _l("normal"),
    "high": _l("high"),
    "urgent": _l("urgent"),
}


def _involved(model: Any, who: Who) -> Select[Any]:
    """Tasks ``who`` made or handed on, and team tasks waiting in ``who``'s teams."""
    teams = select(TeamMember.team_id).where(TeamMember.user_id == who.id)
    handed = select(TaskDelegation.task_id).where(TaskDelegation.from_user_id == who.id)
    return select(Task.id).where(
        or_(
            Task.created_by_id == who.id,
            Task.id.in_(handed),
            (Task.owner_id.is_(None) & Task.team_id.in_(teams)),
        )
    )


# What the global search finds tasks by (groupware.search.words).
TASKS_WORDS = Words("tasks", ("title",))


class Task(Base):
    __tablename__ = "tasks"
    __tracked__ = True
    __access__ = RecordAccess(module="tasks", owner="owner_id", co_owners=_involved, team="team_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    response: Mapped[str] = mapped_column(String(10), default="accepted")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    progress: Mapped[int] = mapped_column(Integer, default=0)
    starts_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    due_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), default=None
    )
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), default=None
    )
    completed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    delegations: Mapped[list[TaskDelegation]] = relationship(
        order_by="TaskDelegation.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("status IN ('open', 'in_progress', 'done', 'cancelled')", name="status"),
        CheckConstraint("response IN ('pending', 'accepted', 'rejected')", name="response"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="progress"),
        CheckConstraint("starts_at IS NULL OR due_at IS NULL OR starts_at <= due_at", name="times"),
        Index("ix_tasks_owner_id_status", "owner_id", "status"),
        Index("ix_tasks_team_id_status", "team_id", "status"),
        Index("ix_tasks_created_by_id", "created_by_id"),
        Index("ix_tasks_status_due_at", "status", "due_at"),
        Index("ix_tasks_partner_id", "partner_id"),
        Index("ix_tasks_deal_id", "deal_id"),
        TASKS_WORDS.index(),
    )

    def __str__(self) -> str:
        return self.title


class TaskDelegation(Base):
    """One hand-over of a task, and the answer to it."""

    __tablename__ = "task_delegations"
    __tracked__ = True
    __history_parent__ = ("tasks", "task_id", "delegation")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    from_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    to_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    to_team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str] = mapped_column(String(1000), default="")
    response: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str] = mapped_column(String(1000), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    responded_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    from_user: Mapped[User | None] = relationship(foreign_keys=[from_user_id])
    to_user: Mapped[User | None] = relationship(foreign_keys=[to_user_id])
    to_team: Mapped[Team | None] = relationship()

    __table_args__ = (
        CheckConstraint("response IN ('pending', 'accepted', 'rejected')", name="response"),
        CheckConstraint("response != 'rejected' OR reason != ''", name="reason"),
    )

    def __str__(self) -> str:
        """Whom the task went to, for history ("Delegation: — → Ivana Babić"). This runs
        in the middle of a flush: read the loaded relationship or the session, no query."""
        session = object_session(self)
        for attr, model, key in (
            ("to_user", User, self.to_user_id),
            ("to_team", Team, self.to_team_id),
        ):
            if key is None:
                continue
            found = self.__dict__.get(attr)
            if found is None and session is not None:
                found = session.identity_map.get(identity_key(model, key))
            return str(found) if found is not None else f"#{key}"
        return ""


TASKS_RECORD = RecordType(
    "tasks",
    _l("Task"),
    "/tasks/{id}",
    {
        "priority": _l("Priority"),
        "progress": _l("Progress"),
        "starts_at": _l("Starts"),
        "due_at": _l("Due"),
        "response": _l("Answer"),
        "partner_id": _l("Partner"),
        "deal_id": _l("Deal"),
        "completed_at": _l("Completed"),
        "delegation": _l("Delegation"),
        "delegation.reason": _l("Reason"),
        "delegation.responded_at": _l("Answered"),
    },
    values={
        "status": choice(STATUS_LABELS),
        "response": choice(RESPONSE_LABELS),
        "priority": choice(PRIORITY_LABELS),
        "progress": PERCENT,
        "starts_at": DATETIME,
        "due_at": DATETIME,
        "completed_at": DATETIME,
        "delegation.responded_at": DATETIME,
    },
    summary=("priority", "due_at", "partner_id", "deal_id"),
    list_url="/tasks?view=all",
    api_url="/api/v1/tasks?view=all",
    stream=True,
)
