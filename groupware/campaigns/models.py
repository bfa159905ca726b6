"""Campaigns: a marketing effort of a type (whose phase template it follows), with an
owner and a team, dates, a budget and goals. ``phase_id`` is its current phase of the
engine's ``phases`` rows and ``phase_due`` repeats its planned end, so that lists and
the alert job find late campaigns by an index (as deals do).

A campaign's **targets** are the partners it addresses, one row per partner (the
database refuses a second), each with its status, its rep and what the rollout made
for it; ``Campaign.criteria`` keeps the criteria its list was last frozen from, so that
refreshing finds the new matches. **Saved criteria** are reusable by every campaign.
A **rollout** turns the targets into deals and tasks; at most one runs per campaign at
a time (a unique index over the running ones)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
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
    __history_exclude__ = frozenset({"phase_due", "criteria"})  # the phase; its own history
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
    # The criteria the target list was last frozen from (groupware.campaigns.criteria).
    criteria: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
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
        # Not columns: how many targets the list has (one history row per change), and
        # what a rollout made (one history row per rollout).
        "targets": _l("Targets"),
        "rollout_deals": _l("Deals rolled out"),
        "rollout_tasks": _l("Tasks rolled out"),
        "rollout_linked": _l("Open deals linked"),
        "rollout_queued": _l("Targets without a rep (to the team's queue)"),
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
        "targets": NUMBER,
        "rollout_deals": NUMBER,
        "rollout_tasks": NUMBER,
        "rollout_linked": NUMBER,
        "rollout_queued": NUMBER,
    },
    summary=("type_id", "status", "owner_id", "starts_on", "ends_on"),
    list_url="/campaigns?shown=all",
    api_url="/api/v1/campaigns",
    stream=True,
)


# -- targets --------------------------------------------------------------------------

TARGET_STATUSES = (
    "new",
    "contacted",
    "responded",
    "interested",
    "not_interested",
    "won",
    "lost",
    "opted_out",
)
TARGET_STATUS_LABELS = {
    "new": _l("new"),
    "contacted": _l("contacted"),
    "responded": _l("responded"),
    "interested": _l("interested"),
    "not_interested": _l("not interested"),
    "won": _l("won"),
    "lost": _l("lost"),
    "opted_out": _l("opted out"),
}
# Statuses that mean the partner answered (a response, in the results).
RESPONSES = ("responded", "interested", "not_interested", "won", "lost")
TARGET_SOURCES = ("criteria", "csv", "hand", "campaign")
TARGET_SOURCE_LABELS = {
    "criteria": _l("criteria"),
    "csv": _l("CSV list"),
    "hand": _l("picked by hand"),
    "campaign": _l("another campaign"),
}


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class CampaignTarget(Base):
    """A partner a campaign addresses: its status, its rep (the partner's primary rep
    when it was added), where it came from, and the deal and task the rollout made."""

    __tablename__ = "campaign_targets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    rep_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(16), default="new")
    source: Mapped[str] = mapped_column(String(10), default="criteria")
    deal_id: Mapped[int | None] = mapped_column(
        ForeignKey("deals.id", ondelete="SET NULL"), default=None
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), default=None
    )
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # When it first answered (a status of RESPONSES), for the results over time.
    responded_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    __table_args__ = (
        UniqueConstraint("campaign_id", "partner_id", name="uq_campaign_targets_partner"),
        CheckConstraint(f"status IN ({_in(TARGET_STATUSES)})", name="status"),
        CheckConstraint(f"source IN ({_in(TARGET_SOURCES)})", name="source"),
        Index("ix_campaign_targets_campaign_id_status", "campaign_id", "status"),
        Index("ix_campaign_targets_partner_id", "partner_id"),
        Index("ix_campaign_targets_rep_id", "rep_id"),
        # One rollout deal and task per target: never two targets on one deal.
        Index("ux_campaign_targets_deal_id", "deal_id", unique=True),
        Index("ux_campaign_targets_task_id", "task_id", unique=True),
    )


class SavedCriteria(Base):
    """Target criteria saved under a name, for any campaign to use again."""

    __tablename__ = "campaign_criteria"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# -- rollouts -------------------------------------------------------------------------

ROLLOUT_STATUSES = ("running", "done", "failed")


class Rollout(Base):
    """One run of a campaign's rollout: what it makes (deals of a type, tasks with a
    title and due date), who started it, and how far it is. A running rollout whose
    process died is resumed by the rollout job (its ``beat`` grows old)."""

    __tablename__ = "campaign_rollouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(8), default="running")
    make_deals: Mapped[bool] = mapped_column(Boolean, default=True)
    make_tasks: Mapped[bool] = mapped_column(Boolean, default=True)
    deal_type_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_types.id", ondelete="SET NULL"), default=None
    )
    deal_title: Mapped[str] = mapped_column(String(200), default="")
    task_title: Mapped[str] = mapped_column(String(200), default="")
    task_due: Mapped[dt.date | None] = mapped_column(Date, default=None)
    started_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    deals_made: Mapped[int] = mapped_column(Integer, default=0)
    deals_linked: Mapped[int] = mapped_column(Integer, default=0)
    tasks_made: Mapped[int] = mapped_column(Integer, default=0)
    queued: Mapped[int] = mapped_column(Integer, default=0)
    # What each rep got so far, {user id: [deals, tasks]} (their notice at the end).
    per_rep: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    beat: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    campaign: Mapped[Campaign] = relationship()

    __table_args__ = (
        CheckConstraint(f"status IN ({_in(ROLLOUT_STATUSES)})", name="status"),
        Index("ix_campaign_rollouts_campaign_id", "campaign_id", "id"),
        # Never two at once for one campaign.
        Index(
            "ux_campaign_rollouts_running",
            "campaign_id",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )
