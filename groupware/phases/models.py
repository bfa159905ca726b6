"""The phase and deadline engine's tables, shared by every process with phases.

A *process type* (a kind of sale, of purchase, later of campaign or inquiry) owns an
ordered template of *type phases* with planned durations; an admin edits both. A record
of that type (a deal) gets its own *phases*, copied from the template when it starts,
with planned dates worked out from its start; moving on records actual dates. The
template may change later without rewriting the plans of records already under way.

The alert job raises one *alert* per (record, what is late, level): a late phase or an
overdue close date at level 1, its escalation after the grace at level 2. The unique key
is what keeps two workers, or a second run, from raising it again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.db import Base, utcnow

PROCESSES = ("deal",)  # campaigns, inquiries and maintenance add theirs
DIRECTIONS = ("sale", "purchase")
ALERT_LEVELS = (1, 2)  # 1: late or overdue; 2: still so after the grace (escalation)


class ProcessType(Base):
    """A type of deal (or, later, of campaign or inquiry) with its phase template."""

    __tablename__ = "process_types"
    __tracked__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    process: Mapped[str] = mapped_column(String(16), default="deal")
    # For deals: the direction the type is for.
    direction: Mapped[str | None] = mapped_column(String(10), default=None)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(1000), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    phases: Mapped[list[TypePhase]] = relationship(
        back_populates="type", order_by="TypePhase.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("process", "name"),
        CheckConstraint("direction IS NULL OR direction IN ('sale', 'purchase')", name="direction"),
    )

    def __str__(self) -> str:
        return self.name


class TypePhase(Base):
    """A step of a type's template: its name and how many days it is planned to take."""

    __tablename__ = "type_phases"
    __tracked__ = True
    __history_parent__ = ("process_types", "type_id", "phase")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type_id: Mapped[int] = mapped_column(ForeignKey("process_types.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    planned_days: Mapped[int] = mapped_column(Integer, default=7)

    type: Mapped[ProcessType] = relationship(back_populates="phases")

    __table_args__ = (
        UniqueConstraint("type_id", "position"),
        CheckConstraint("planned_days >= 0", name="planned_days"),
    )

    def __str__(self) -> str:
        return self.name


class Phase(Base):
    """A phase of one record (``record_type`` and ``record_id``), planned and actual.

    The current phase is the one started and not finished; at most one per record."""

    __tablename__ = "phases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    type_phase_id: Mapped[int | None] = mapped_column(
        ForeignKey("type_phases.id", ondelete="SET NULL"), default=None
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    planned_days: Mapped[int] = mapped_column(Integer)
    planned_start: Mapped[dt.date] = mapped_column(Date)
    planned_end: Mapped[dt.date] = mapped_column(Date)
    actual_start: Mapped[dt.date | None] = mapped_column(Date, default=None)
    actual_end: Mapped[dt.date | None] = mapped_column(Date, default=None)

    __table_args__ = (
        UniqueConstraint("record_type", "record_id", "position"),
        # The alert job's scan: current phases by planned end.
        Index(
            "ix_phases_current_planned_end",
            "planned_end",
            postgresql_where=text("actual_start IS NOT NULL AND actual_end IS NULL"),
            sqlite_where=text("actual_start IS NOT NULL AND actual_end IS NULL"),
        ),
    )

    @property
    def is_current(self) -> bool:
        return self.actual_start is not None and self.actual_end is None

    def late_by(self, today: dt.date) -> int:
        """Days past its planned end (finished: when it finished; else: today)."""
        end = self.actual_end or today
        return max(0, (end - self.planned_end).days) if self.actual_start else 0

    def __str__(self) -> str:
        return self.name


class Alert(Base):
    """An alert raised once: ``subject`` says what is late ("phase:<id>" or "close")."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer, default=1)
    due: Mapped[dt.date] = mapped_column(Date)
    raised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    __table_args__ = (
        UniqueConstraint("record_type", "record_id", "subject", "level"),
        CheckConstraint("level IN (1, 2)", name="level"),
    )
