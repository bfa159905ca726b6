"""Deals: sales and purchases in one table, told apart by ``direction``.

A deal belongs to a partner and has a type (a :class:`ProcessType` whose phase template
it follows), a responsible rep (``owner_id``, the "own" scope) and further people it is
shared with (``deal_members``, also "own"). A territory rep sees the deals of the
partners of their territories. ``phase_id`` is the current phase of the engine's
``phases`` rows; ``phase_due`` repeats its planned end so that lists and the alert job
can find late deals by an index, and ``step_id`` its template step, so that the board
and the pipeline report group deals without reading their phases.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    column,
    select,
    table,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.access.policy import Module, RecordAccess, Who, through
from groupware.accounts.models import User, user_name_of
from groupware.crm.models import Partner, Person, territories_covered_by
from groupware.db import Base, utcnow
from groupware.i18n import _l
from groupware.phases.models import Phase, ProcessType
from groupware.records import (
    DATE,
    DATETIME,
    MONEY,
    NUMBER,
    PERCENT,
    RecordType,
    choice,
    ref,
)
from groupware.search.words import Words

DEALS_MODULE = Module("deals", _l("Sales and purchases"))

STATUSES = ("open", "won", "lost", "cancelled")
PRIORITIES = ("low", "normal", "high", "urgent")
SOURCES = ("campaign", "website", "referral", "phone", "email", "fair", "existing", "other")
# What each code reads as, for pages, lists and the history alike.
DIRECTION_LABELS = {"sale": _l("sale"), "purchase": _l("purchase")}
STATUS_LABELS = {
    "open": _l("open"),
    "won": _l("won"),
    "lost": _l("lost"),
    "cancelled": _l("cancelled"),
}
PRIORITY_LABELS = {
    "low": _l("low"),
    "normal": _l("normal"),
    "high": _l("high"),
    "urgent": _l("urgent"),
}
SOURCE_LABELS = {
    "campaign": _l("campaign"),
    "website": _l("website"),
    "referral": _l("referral"),
    "phone": _l("phone"),
    "email": _l("e-mail"),
    "fair": _l("fair"),
    "existing": _l("existing customer"),
    "other": _l("other"),
}
# The kinds of a deal's activity log, read by its history (notes and calls are now
# groupware.activities, meetings calendar events linked to the deal).
ACTIVITY_LABELS = {"note": _l("note"), "call": _l("call"), "meeting": _l("meeting")}


def _member_of(model: Any, who: Who) -> Select[Any]:
    """The deals shared with ``who`` as a further person."""
    return select(DealMember.deal_id).where(DealMember.user_id == who.id)


def _territory_clause(model: Any, who: Who, whole: bool) -> ColumnElement[bool]:
    """Deals of partners in the territories ``who`` covers (see ``policy.through``)."""
    covered = Partner.territory_id.in_(territories_covered_by(who))
    clause: ColumnElement[bool] = through(model.partner_id, Partner, covered, whole=whole)
    return clause


# The campaigns a deal may live in, as deals read them: their table, not the campaigns
# area's model (that area builds on deals; deals do not import it).
CAMPAIGNS = table(
    "campaigns", column("id", Integer), column("name", String), column("status", String)
)
OPEN_CAMPAIGN = ("planned", "active")


# What the global search finds deals by (groupware.search.words).
DEALS_WORDS = Words("deals", ("title",))


class Deal(Base):
    __tablename__ = "deals"
    __tracked__ = True
    __history_exclude__ = frozenset({"phase_due", "step_id"})  # they follow the phase
    __access__ = RecordAccess(
        module="deals", owner="owner_id", co_owners=_member_of, territory=_territory_clause
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    direction: Mapped[str] = mapped_column(String(10), default="sale")
    title: Mapped[str] = mapped_column(String(200))
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="RESTRICT"))
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("persons.id", ondelete="SET NULL"), default=None
    )
    type_id: Mapped[int] = mapped_column(ForeignKey("process_types.id", ondelete="RESTRICT"))
    phase_id: Mapped[int | None] = mapped_column(
        ForeignKey("phases.id", ondelete="SET NULL"), default=None
    )
    phase_due: Mapped[dt.date | None] = mapped_column(Date, default=None)
    # The template step of the current phase: the board's column, the pipeline's row.
    step_id: Mapped[int | None] = mapped_column(
        ForeignKey("type_phases.id", ondelete="SET NULL"), default=None
    )
    # The campaign the deal lives in (its rollout made it, or a rep chose it); the
    # campaigns area builds on deals, so deals name it by its table only (CAMPAIGNS).
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None
    )
    status: Mapped[str] = mapped_column(String(10), default="open")
    lost_reason: Mapped[str] = mapped_column(String(500), default="")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    source: Mapped[str] = mapped_column(String(16), default="other")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    amount: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2), default=0)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    probability: Mapped[int] = mapped_column(Integer, default=10)
    started_on: Mapped[dt.date] = mapped_column(Date)
    expected_close: Mapped[dt.date | None] = mapped_column(Date, default=None)
    closed_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    partner: Mapped[Partner] = relationship()
    person: Mapped[Person | None] = relationship()
    type: Mapped[ProcessType] = relationship()
    phase: Mapped[Phase | None] = relationship(foreign_keys=[phase_id])
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    members: Mapped[list[DealMember]] = relationship(cascade="all, delete-orphan")
    lines: Mapped[list[DealLine]] = relationship(
        order_by="DealLine.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("direction IN ('sale', 'purchase')", name="direction"),
        CheckConstraint("status IN ('open', 'won', 'lost', 'cancelled')", name="status"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        CheckConstraint("amount >= 0", name="amount"),
        CheckConstraint("status != 'lost' OR lost_reason != ''", name="lost_reason"),
        Index("ix_deals_partner_id", "partner_id"),
        Index("ix_deals_campaign_id", "campaign_id"),
        Index("ix_deals_owner_id_status", "owner_id", "status"),
        # Lists by close month, the forecast and the overdue scan.
        Index("ix_deals_status_expected_close", "status", "expected_close"),
        Index("ix_deals_status_phase_due", "status", "phase_due"),
        Index("ix_deals_status_type_id_step_id", "status", "type_id", "step_id"),
        # What was won in a period (the dashboard's realised sales, the reports): without
        # it every won deal of all the years is read.
        Index("ix_deals_status_closed_on", "status", "closed_on"),
        DEALS_WORDS.index(),
    )

    def __str__(self) -> str:
        return self.title


class DealMember(Base):
    """A further person a deal is shared with (they count as its owners)."""

    __tablename__ = "deal_members"
    __tracked__ = True
    __history_parent__ = ("deals", "deal_id", "member")

    deal_id: Mapped[int] = mapped_column(
        ForeignKey("deals.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    user: Mapped[User] = relationship()

    def __str__(self) -> str:
        return user_name_of(self)


class DealLine(Base):
    """An optional line of a deal: what, how many, at what price."""

    __tablename__ = "deal_lines"
    __tracked__ = True
    __history_parent__ = ("deals", "deal_id", "line")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[decimal.Decimal] = mapped_column(Numeric(12, 3), default=1)
    unit_price: Mapped[decimal.Decimal] = mapped_column(Numeric(14, 2), default=0)

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
    )

    @property
    def amount(self) -> decimal.Decimal:
        return (self.quantity * self.unit_price).quantize(decimal.Decimal("0.01"))

    def __str__(self) -> str:
        return self.description


DEALS_RECORD = RecordType(
    "deals",
    _l("Deal"),
    "/deals/{id}",
    {
        "direction": _l("Direction"),
        "title": _l("Title"),
        "partner_id": _l("Partner"),
        "person_id": _l("Contact person"),
        "type_id": _l("Type"),
        "campaign_id": _l("Campaign"),
        "phase_id": _l("Phase"),
        "phase_due": _l("Phase due"),
        "status": _l("Status"),
        "lost_reason": _l("Reason lost"),
        "priority": _l("Priority"),
        "source": _l("Source"),
        "owner_id": _l("Responsible"),
        "amount": _l("Amount"),
        "currency": _l("Currency"),
        "probability": _l("Probability"),
        "started_on": _l("Started"),
        "expected_close": _l("Expected close"),
        "closed_on": _l("Closed"),
        "member": _l("Shared with"),
        "line": _l("Line"),
        "activity": _l("Activity"),
        "line.quantity": _l("Quantity"),
        "line.unit_price": _l("Unit price"),
        "activity.kind": _l("Kind"),
        "activity.text": _l("Text"),
        "activity.at": _l("When"),
    },
    values={
        "direction": choice(DIRECTION_LABELS),
        "person_id": ref("persons"),
        "type_id": ref("process_types"),
        "campaign_id": ref("campaigns"),
        "phase_id": ref("phases"),
        "phase_due": DATE,
        "status": choice(STATUS_LABELS),
        "priority": choice(PRIORITY_LABELS),
        "source": choice(SOURCE_LABELS),
        "amount": MONEY,
        "probability": PERCENT,
        "started_on": DATE,
        "expected_close": DATE,
        "closed_on": DATE,
        "line.quantity": NUMBER,
        "line.unit_price": MONEY,
        "activity.kind": choice(ACTIVITY_LABELS),
        "activity.at": DATETIME,
    },
    summary=("direction", "partner_id", "type_id", "amount", "owner_id", "expected_close"),
    # Every deal: the list opens on the open ones unless told otherwise.
    list_url="/deals?status=",
    api_url="/api/v1/deals",
    stream=True,
)
# Every kind of process type (deal, campaign...): its link leads to its kind's editor.
PROCESS_TYPES_RECORD = RecordType(
    "process_types",
    _l("Process type"),
    "/admin/process-types/{id}",
    {"process": _l("Process"), "direction": _l("Direction"), "phase": _l("Phase")},
    values={
        "process": choice({"deal": _l("Deal")}),
        "direction": choice({"sale": _l("sale"), "purchase": _l("purchase")}),
    },
    summary=("direction",),
)
