"""Campaigns: create, change, move through their phases, finish or cancel.

A campaign follows its type's phase template (``groupware.phases``): its phases are
planned from its start when it is made (or changes type), and moving records actual
dates. Access is the campaigns module's: its owner ("own"), its team ("team"),
administrators, and whoever it is shared with."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from groupware.access.policy import Who, get_for_user, may_share, require, visible
from groupware.accounts.models import Team, User
from groupware.campaigns import calendar
from groupware.campaigns.models import RECORD, Campaign, CampaignTarget
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.crm.documents import Currency
from groupware.db import cents
from groupware.deals.models import Deal
from groupware.errors import Invalid
from groupware.i18n import _l, today
from groupware.phases import engine
from groupware.phases.models import Phase, ProcessType
from groupware.validation import (
    Id,
    LocalDate,
    LocalDecimal,
    LocalWhole,
    OptionalId,
    OptionalLocalDate,
    Schema,
    fail,
)

MODULE = CAMPAIGN_TYPES.module
Money = decimal.Decimal


class CampaignIn(Schema):
    name: str = Field(min_length=1, max_length=200)
    type_id: Id
    owner_id: OptionalId = None
    team_id: OptionalId = None
    status: Literal["planned", "active"] = "planned"
    starts_on: LocalDate
    ends_on: OptionalLocalDate = None
    budget: LocalDecimal = Field(default=Money(0), ge=0, max_digits=14, decimal_places=2)
    currency: Currency = "EUR"
    expected_responses: LocalWhole = Field(default=0, ge=0, le=100_000_000)
    expected_revenue: LocalDecimal = Field(default=Money(0), ge=0, max_digits=14, decimal_places=2)
    description: str = Field(default="", max_length=20_000)

    @field_validator("ends_on")
    @classmethod
    def _ends_after_start(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        started = info.data.get("starts_on")
        if value is not None and started is not None and value < started:
            raise fail(_l("A campaign cannot end before it starts."))
        return value


class EndIn(Schema):
    status: Literal["finished", "cancelled"]
    on: OptionalLocalDate = None


def get_campaign_for_user(
    session: Session, who: Who, campaign_id: int, action: str = "view"
) -> Campaign:
    return get_for_user(
        session,
        who,
        Campaign,
        campaign_id,
        action,
        options=[joinedload(Campaign.type), joinedload(Campaign.owner), joinedload(Campaign.team)],
    )


def _campaign_type(session: Session, type_id: int) -> ProcessType:
    type_ = session.get(ProcessType, type_id, options=[selectinload(ProcessType.phases)])
    if type_ is None or type_.process != CAMPAIGN_TYPES.process:
        raise Invalid({"type_id": CAMPAIGN_TYPES.missing})
    if not type_.is_active:
        raise Invalid({"type_id": _l("This campaign type is no longer used.")})
    return type_


def _check_people(session: Session, data: CampaignIn) -> None:
    if data.owner_id is not None and not session.scalar(
        select(User.id).where(User.id == data.owner_id, User.is_active)
    ):
        raise Invalid({"owner_id": _l("Choose an active user.")})
    if data.team_id is not None and session.get(Team, data.team_id) is None:
        raise Invalid({"team_id": _l("There is no such team.")})


def _sync_phase(campaign: Campaign, phases: list[Phase]) -> None:
    now = engine.current(phases)
    campaign.phase = now
    campaign.phase_id = now.id if now is not None else None
    campaign.phase_due = now.planned_end if now is not None and campaign.is_open else None


def phases_of(session: Session, campaign: Campaign) -> list[Phase]:
    return engine.phases_of(session, RECORD, campaign.id)


def create_campaign(session: Session, who: Who, data: CampaignIn) -> Campaign:
    require(who, MODULE, "create")
    type_ = _campaign_type(session, data.type_id)
    _check_people(session, data)
    campaign = Campaign(**data.model_dump(exclude={"owner_id"}), owner_id=data.owner_id or who.id)
    session.add(campaign)
    session.flush()
    _sync_phase(campaign, engine.plan(session, RECORD, campaign.id, type_, data.starts_on))
    session.flush()
    calendar.push(session, campaign)
    return campaign


def update_campaign(session: Session, who: Who, campaign_id: int, data: CampaignIn) -> Campaign:
    campaign = get_campaign_for_user(session, who, campaign_id, "edit")
    _check_people(session, data)
    if not campaign.is_open:
        raise Invalid({"status": _l("This campaign has ended; it is no longer changed.")})
    owner_changed = data.owner_id is not None and data.owner_id != campaign.owner_id
    if owner_changed and not may_share(session, who, campaign):
        raise Invalid(
            {"owner_id": _l("Only the owner or someone with the right to share changes this.")}
        )
    new_type = data.type_id != campaign.type_id
    # A new type plans the phases again from its template; so does a new start while
    # the campaign is only planned (once under way, its phases keep their actual dates).
    replan = new_type or (campaign.status == "planned" and data.starts_on != campaign.starts_on)
    type_ = _campaign_type(session, data.type_id) if new_type else campaign.type
    for name, value in data.model_dump(exclude={"owner_id"}).items():
        setattr(campaign, name, value)
    if data.owner_id is not None:
        campaign.owner_id = data.owner_id
    session.flush()
    if replan:
        _sync_phase(campaign, engine.plan(session, RECORD, campaign.id, type_, data.starts_on))
        session.flush()
    calendar.push(session, campaign)
    return campaign


def move_campaign(
    session: Session, who: Who, campaign_id: int, phase_id: int, on: dt.date | None = None
) -> Campaign:
    """Move an open campaign to one of its phases (forward or back); a planned campaign
    that moves is under way."""
    campaign = get_campaign_for_user(session, who, campaign_id, "edit")
    if not campaign.is_open:
        raise Invalid({"phase_id": _l("This campaign has ended; it is no longer moved.")})
    phases = phases_of(session, campaign)
    engine.move_to(phases, phase_id, on or today())
    campaign.status = "active"
    _sync_phase(campaign, phases)
    session.flush()
    calendar.push(session, campaign)
    return campaign


def end_campaign(session: Session, who: Who, campaign_id: int, data: EndIn) -> Campaign:
    """Finish or cancel a campaign: its current phase ends, nothing of it is late any
    more."""
    campaign = get_campaign_for_user(session, who, campaign_id, "edit")
    if not campaign.is_open:
        raise Invalid({"status": _l("This campaign has ended already.")})
    on = data.on or today()
    if on < campaign.starts_on:
        raise Invalid({"on": _l("A campaign cannot end before it starts.")})
    engine.finish(phases_of(session, campaign), on)
    campaign.status = data.status
    campaign.ends_on = on
    campaign.phase_due = None
    session.flush()
    calendar.push(session, campaign)
    return campaign


def campaigns_of_partner(
    session: Session, who: Who, partner_id: int
) -> list[tuple[Campaign, int, str | None]]:
    """The campaigns ``who`` may see that target the partner or that deals of the
    partner live in: each with the number of those deals ``who`` may see and the
    partner's status as a target (None when it is not one), the newest campaign first."""
    deals = (
        select(Deal.campaign_id, func.count().label("deals"))
        .where(Deal.partner_id == partner_id, Deal.campaign_id.is_not(None), visible(Deal, who))
        .group_by(Deal.campaign_id)
        .subquery()
    )
    targeted = (
        select(CampaignTarget.campaign_id, CampaignTarget.status)
        .where(CampaignTarget.partner_id == partner_id)
        .subquery()
    )
    rows = session.execute(
        select(Campaign, deals.c.deals, targeted.c.status)
        .outerjoin(deals, deals.c.campaign_id == Campaign.id)
        .outerjoin(targeted, targeted.c.campaign_id == Campaign.id)
        .where(
            visible(Campaign, who),
            or_(deals.c.deals.is_not(None), targeted.c.status.is_not(None)),
        )
        .options(joinedload(Campaign.type), joinedload(Campaign.phase))
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
    )
    return [(campaign, int(count or 0), status) for campaign, count, status in rows]


@dataclass(frozen=True)
class RepResult:
    """One responsible person's deals in a campaign."""

    name: str
    opened: int
    won: int
    lost: int
    revenue: decimal.Decimal  # won, in the campaign's currency


@dataclass(frozen=True)
class Results:
    """What a campaign has brought so far, from the deals that live in it that the
    reader may see: how many are open, won, lost or cancelled, the revenue won in the
    campaign's currency against its budget (the return on the campaign) and its goal,
    and the same per responsible person. Deals in another currency are counted but
    their amounts are left out of the revenue (``other_currencies`` names them)."""

    open: int
    won: int
    lost: int
    cancelled: int
    revenue: decimal.Decimal
    budget: decimal.Decimal
    goal: decimal.Decimal
    currency: str
    other_currencies: tuple[str, ...]
    reps: tuple[RepResult, ...]

    @property
    def opened(self) -> int:
        return self.open + self.won + self.lost + self.cancelled

    @property
    def return_rate(self) -> decimal.Decimal | None:
        """(revenue won - budget) / budget, as a percentage; None without a budget."""
        if not self.budget:
            return None
        return ((self.revenue - self.budget) / self.budget * 100).quantize(Money("0.1"))

    @property
    def goal_rate(self) -> decimal.Decimal | None:
        """Revenue won as a percentage of the expected revenue; None without a goal."""
        if not self.goal:
            return None
        return (self.revenue / self.goal * 100).quantize(Money("0.1"))


def results(session: Session, who: Who, campaign: Campaign) -> Results:
    """The campaign's results (see :class:`Results`), through the access filter."""
    same = Deal.currency == campaign.currency
    won_here = case((and_(Deal.status == "won", same), Deal.amount), else_=0)
    counted = (
        func.sum(case((Deal.status == "open", 1), else_=0)),
        func.sum(case((Deal.status == "won", 1), else_=0)),
        func.sum(case((Deal.status == "lost", 1), else_=0)),
        func.sum(case((Deal.status == "cancelled", 1), else_=0)),
        func.sum(won_here),
    )
    mine = (Deal.campaign_id == campaign.id, visible(Deal, who, whole=True))
    rows = session.execute(
        select(User.full_name, *counted)
        .select_from(Deal)
        .outerjoin(User, User.id == Deal.owner_id)
        .where(*mine)
        .group_by(User.full_name)
        .order_by(func.sum(won_here).desc(), User.full_name)
    ).all()
    reps = tuple(
        RepResult(name or "", int(o or 0) + int(w or 0) + int(lo or 0) + int(c or 0),
                  int(w or 0), int(lo or 0), cents(revenue))
        for name, o, w, lo, c, revenue in rows
    )  # fmt: skip
    others = session.scalars(
        select(Deal.currency).where(*mine, Deal.currency != campaign.currency).distinct()
    )
    total = [sum((int(r[i] or 0) for r in rows), 0) for i in range(1, 5)]
    return Results(
        open=total[0],
        won=total[1],
        lost=total[2],
        cancelled=total[3],
        revenue=sum((r.revenue for r in reps), Money(0)),
        budget=campaign.budget,
        goal=campaign.expected_revenue,
        currency=campaign.currency,
        other_currencies=tuple(sorted(others)),
        reps=reps,
    )
