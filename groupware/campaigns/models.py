"""Campaigns: a marketing effort of a type (whose phase template it follows), with an
owner and a team, dates, a budget and goals. ``phase_id`` is its current phase of the
engine's ``phases`` rows and ``phase_due`` repeats its planned end, so that lists and
the alert job find late campaigns by an index (as deals do)."""

from __future__ import annotations

import datetime as dt
import decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.access.policy import RecordAccess
from groupware.accounts.models import Team, User
from groupware.db import Base, utcnow
from groupware.i18n import _l
from groupware.phases.models import Phase, ProcessType
from groupware.records import DATE, MONEY, NUMBER, RecordType, choice, ref

RECORD = "campaigns"  # the record type: phases, history, shares
STATUSES = ("planned", "active", "finished", "cancelled")
STATUS_LABELS = {
    "planned": _l("planned"),
    "active": _l("under way"),
    "finished": _l("finished"),
    "cancelled": _l("cancelled"),
}
OPEN_STATUSES = ("planned", "active")


class Campaign(Base):
    __tablename__ = "campaigns"
    __tracked__ = True
    __history_exclude__ = frozenset({"phase_due"})  # it follows the phase
    __access__ = RecordAccess(module="campaigns", owner="owner_id", team="team_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type_id: Mapped[int] = mapped_column(ForeignKey("process_types.id", ondelete="RESTRICT"))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(10), default="planned")
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    budget: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2), default=0)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    expected_responses: Mapped[int] = mapped_column(Integer, default=0)
    expected_revenue: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2), default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    phase_id: Mapped[int | None] = mapped_column(
        ForeignKey("phases.id", ondelete="SET NULL"), default=None
    )
    phase_due: Mapped[dt.date | None] = mapped_column(Date, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    type: Mapped[ProcessType] = relationship()
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship()
    phase: Mapped[Phase | None] = relationship(foreign_keys=[phase_id])

    __table_args__ = (
        CheckConstraint("status IN ('planned', 'active', 'finished', 'cancelled')", name="status"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates"),
        CheckConstraint("budget >= 0", name="budget"),
        CheckConstraint("expected_responses >= 0", name="expected_responses"),
        CheckConstraint("expected_revenue >= 0", name="expected_revenue"),
        Index("ix_campaigns_owner_id_status", "owner_id", "status"),
        Index("ix_campaigns_team_id", "team_id"),
        # The alert job's scan for late phases.
        Index("ix_campaigns_status_phase_due", "status", "phase_due"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __str__(self) -> str:
        return self.name


CAMPAIGNS_RECORD = RecordType(
    RECORD,
    _l("Campaign"),
    "/campaigns/{id}",
    {
        "name": _l("Name"),
        "type_id": _l("Type"),
        "owner_id": _l("Responsible"),
        "team_id": _l("Team"),
        "status": _l("Status"),
        "starts_on": _l("Starts"),
        "ends_on": _l("Ends"),
        "budget": _l("Budget"),
        "currency": _l("Currency"),
        "expected_responses": _l("Expected responses"),
        "expected_revenue": _l("Expected revenue"),
        "description": _l("Description"),
        "phase_id": _l("Phase"),
    },
    values={
        "type_id": ref("process_types"),
        "team_id": ref("teams"),
        "phase_id": ref("phases"),
        "status": choice(STATUS_LABELS),
        "starts_on": DATE,
        "ends_on": DATE,
        "budget": MONEY,
        "expected_revenue": MONEY,
        "expected_responses": NUMBER,
    },
    summary=("type_id", "status", "owner_id", "starts_on", "ends_on"),
    list_url="/campaigns?shown=all",
    api_url="/api/v1/campaigns",
    stream=True,
)
