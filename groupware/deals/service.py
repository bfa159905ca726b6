"""Deals: create, edit, move through phases, close (won, lost with a reason, cancelled),
reopen, share, link documents.

Every function takes the acting :class:`Who` and checks access through the one helper
(:func:`get_deal_for_user`); a deal's partner must be one the user may see. Impossible
transitions raise :class:`Invalid` naming the field and change nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from groupware.access.policy import Who, can, get_for_user, may_share, require
from groupware.accounts.models import User
from groupware.crm.documents import Currency
from groupware.crm.models import Document, Partner, Person
from groupware.deals import calendar, queries
from groupware.deals.models import OPEN_CAMPAIGN, Deal, DealLine, DealMember
from groupware.errors import Invalid
from groupware.i18n import _l, today
from groupware.phases import engine
from groupware.phases.models import Phase, ProcessType
from groupware.validation import (
    Id,
    LocalDecimal,
    LocalWhole,
    OptionalId,
    OptionalLocalDate,
    Schema,
    fail,
)

MODULE = "deals"
RECORD = "deals"
Money = decimal.Decimal
MAX_AMOUNT = Money("999999999999.99")  # numeric(14, 2)


class LineIn(Schema):
    description: str = Field(min_length=1, max_length=300)
    quantity: LocalDecimal = Field(default=Money(1), gt=0, max_digits=12, decimal_places=3)
    unit_price: LocalDecimal = Field(default=Money(0), ge=0, max_digits=14, decimal_places=2)


class DealIn(Schema):
    direction: Literal["sale", "purchase"] = "sale"
    title: str = Field(min_length=1, max_length=200)
    partner_id: Id
    person_id: OptionalId = None
    type_id: Id
    campaign_id: OptionalId = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    source: Literal[
        "campaign", "website", "referral", "phone", "email", "fair", "existing", "other"
    ] = "other"
    owner_id: OptionalId = None
    member_ids: list[Id] = Field(default_factory=list, max_length=50)
    amount: LocalDecimal = Field(default=Money(0), max_digits=14, decimal_places=2)
    currency: Currency = "EUR"
    probability: LocalWhole = Field(default=10, ge=0, le=100)
    started_on: OptionalLocalDate = None
    expected_close: OptionalLocalDate = None
    description: str = Field(default="", max_length=20_000)
    lines: list[LineIn] = Field(default_factory=list, max_length=200)

    @field_validator("lines")
    @classmethod
    def _lines_fit(cls, lines: list[LineIn]) -> list[LineIn]:
        # Their sum becomes the amount, a numeric(14, 2) column like ``amount`` itself.
        total = sum((line_amount(x.quantity, x.unit_price) for x in lines), Money(0))
        if total > MAX_AMOUNT:
            raise fail(_l("The lines add up to more than an amount can hold."))
        return lines

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: decimal.Decimal) -> decimal.Decimal:
        if value < 0:
            raise fail(_l("The amount cannot be negative."))
        return value

    @field_validator("expected_close")
    @classmethod
    def _close_after_start(cls, value: dt.date | None, info: ValidationInfo) -> dt.date | None:
        started = info.data.get("started_on")
        if value is not None and started is not None and value < started:
            raise fail(_l("The expected close date is before the start."))
        return value

    @model_validator(mode="after")
    def _lines(self) -> DealIn:
        if self.lines:
            self.amount = sum((line_amount(x.quantity, x.unit_price) for x in self.lines), Money(0))
        return self


class CloseIn(Schema):
    status: Literal["won", "lost", "cancelled"]
    reason: str = Field(default="", max_length=500, validate_default=True)
    on: OptionalLocalDate = None

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("status") == "lost" and not value:
            raise fail(_l("Say why the deal was lost."))
        return value


def line_amount(quantity: decimal.Decimal, unit_price: decimal.Decimal) -> decimal.Decimal:
    return (quantity * unit_price).quantize(Money("0.01"))


def get_deal_for_user(session: Session, who: Who, deal_id: int, action: str = "view") -> Deal:
    return get_for_user(
        session,
        who,
        Deal,
        deal_id,
        action,
        options=[joinedload(Deal.partner), joinedload(Deal.type), joinedload(Deal.owner)],
    )


def _deal_type(session: Session, type_id: int, direction: str) -> ProcessType:
    type_ = session.get(ProcessType, type_id, options=[selectinload(ProcessType.phases)])
    if type_ is None or type_.process != "deal":
        raise Invalid({"type_id": _l("There is no such deal type.")})
    if not type_.is_active:
        raise Invalid({"type_id": _l("This deal type is no longer used.")})
    if type_.direction not in (None, direction):
        raise Invalid({"type_id": _l("This type is not for this direction.")})
    return type_


def _check_people(session: Session, who: Who, data: DealIn, deal: Deal | None = None) -> None:
    # A deal shared with someone who may not see its partner stays editable by them, as
    # long as they leave the partner as it is.
    if deal is None or data.partner_id != deal.partner_id:
        get_for_user(session, who, Partner, data.partner_id, "view")
    if data.person_id is not None:
        person = session.get(Person, data.person_id)
        if person is None or person.partner_id != data.partner_id:
            raise Invalid({"person_id": _l("This person does not belong to the partner.")})
    wanted = {data.owner_id, *data.member_ids} - {None}
    if wanted:
        active = set(session.scalars(select(User.id).where(User.id.in_(wanted), User.is_active)))
        if data.owner_id is not None and data.owner_id not in active:
            raise Invalid({"owner_id": _l("Choose an active user.")})
        if set(data.member_ids) - active:
            raise Invalid({"member_ids": _l("Choose active users.")})


def _check_campaign(session: Session, who: Who, data: DealIn, deal: Deal | None = None) -> None:
    """A deal goes into a campaign the user may see that is planned or under way (one
    it is in already may stay, whatever became of the campaign)."""
    if data.campaign_id is None or (deal is not None and data.campaign_id == deal.campaign_id):
        return
    model = queries.campaign_model()
    campaign = session.get(model, data.campaign_id) if model is not None else None
    if (
        campaign is None
        or getattr(campaign, "status", None) not in OPEN_CAMPAIGN
        or not can(session, who, campaign, "view")
    ):
        raise Invalid({"campaign_id": _l("Choose a planned or running campaign you may see.")})


def _check_sharing(session: Session, who: Who, deal: Deal, data: DealIn) -> None:
    """The responsible rep and the further people are whom a deal is shared with:
    only its owner, an administrator or a right to share changes them (write access
    to the deal is not enough)."""
    owner_changed = data.owner_id is not None and data.owner_id != deal.owner_id
    members_changed = set(data.member_ids) != {m.user_id for m in deal.members}
    if (owner_changed or members_changed) and not may_share(session, who, deal):
        field = "owner_id" if owner_changed else "member_ids"
        raise Invalid(
            {field: _l("Only the deal's owner or someone with the right to share changes this.")}
        )


def _sync_phase(deal: Deal, phases: list[Phase]) -> None:
    now = engine.current(phases)
    deal.phase = now
    deal.phase_id = now.id if now is not None else None
    deal.phase_due = now.planned_end if now is not None and deal.status == "open" else None
    deal.step_id = now.type_phase_id if now is not None else None


def create_deal(session: Session, who: Who, data: DealIn) -> Deal:
    require(who, MODULE, "create")
    type_ = _deal_type(session, data.type_id, data.direction)
    _check_people(session, who, data)
    _check_campaign(session, who, data)
    started = data.started_on or today()
    deal = Deal(
        **data.model_dump(exclude={"member_ids", "lines", "started_on", "owner_id"}),
        started_on=started,
        owner_id=data.owner_id or who.id,
    )
    deal.members = [DealMember(user_id=u) for u in dict.fromkeys(data.member_ids)]
    deal.lines = [DealLine(position=i, **x.model_dump()) for i, x in enumerate(data.lines)]
    session.add(deal)
    session.flush()
    _sync_phase(deal, engine.plan(session, RECORD, deal.id, type_, started))
    session.flush()
    calendar.push(session, deal)
    return deal


def update_deal(session: Session, who: Who, deal_id: int, data: DealIn) -> Deal:
    deal = get_deal_for_user(session, who, deal_id, "edit")
    _check_people(session, who, data, deal)
    _check_campaign(session, who, data, deal)
    new_type = data.type_id != deal.type_id
    type_ = _deal_type(session, data.type_id, data.direction) if new_type else deal.type
    if not new_type and type_.direction not in (None, data.direction):
        raise Invalid({"direction": _l("This deal's type is not for this direction.")})
    if new_type and deal.status != "open":
        raise Invalid({"type_id": _l("Reopen the deal before you change its type.")})
    _check_sharing(session, who, deal, data)
    values = data.model_dump(exclude={"member_ids", "lines", "started_on", "owner_id"})
    for name, value in values.items():
        setattr(deal, name, value)
    if data.owner_id is not None:
        deal.owner_id = data.owner_id
    if data.started_on is not None:
        deal.started_on = data.started_on
    kept = {m.user_id: m for m in deal.members}
    deal.members = [kept.get(u) or DealMember(user_id=u) for u in dict.fromkeys(data.member_ids)]
    if data.lines or deal.lines:
        deal.lines = [DealLine(position=i, **x.model_dump()) for i, x in enumerate(data.lines)]
    session.flush()
    if new_type:
        _sync_phase(deal, engine.plan(session, RECORD, deal.id, type_, deal.started_on))
        session.flush()
    calendar.push(session, deal)
    return deal


def phases_of(session: Session, deal: Deal) -> list[Phase]:
    return engine.phases_of(session, RECORD, deal.id)


def move_deal(
    session: Session, who: Who, deal_id: int, phase_id: int, on: dt.date | None = None
) -> Deal:
    """Move an open deal to one of its phases (forward or back)."""
    deal = get_deal_for_user(session, who, deal_id, "edit")
    if deal.status != "open":
        raise Invalid({"phase_id": _l("Reopen the deal before you move it.")})
    phases = phases_of(session, deal)
    engine.move_to(phases, phase_id, on or today())
    _sync_phase(deal, phases)
    session.flush()
    calendar.push(session, deal)
    return deal


def close_deal(session: Session, who: Who, deal_id: int, data: CloseIn) -> Deal:
    deal = get_deal_for_user(session, who, deal_id, "edit")
    if deal.status != "open":
        raise Invalid({"status": _l("This deal is already closed.")})
    on = data.on or today()
    if on < deal.started_on:
        raise Invalid({"on": _l("A deal cannot close before it started.")})
    phases = phases_of(session, deal)
    engine.finish(phases, on)
    deal.status = data.status
    deal.lost_reason = data.reason if data.status == "lost" else ""
    deal.closed_on = on
    deal.probability = 100 if data.status == "won" else 0
    deal.phase_due = None
    session.flush()
    calendar.push(session, deal)
    return deal


def reopen_deal(session: Session, who: Who, deal_id: int) -> Deal:
    deal = get_deal_for_user(session, who, deal_id, "edit")
    if deal.status == "open":
        raise Invalid({"status": _l("This deal is open.")})
    phases = phases_of(session, deal)
    engine.reopen(phases)
    deal.status, deal.lost_reason, deal.closed_on = "open", "", None
    _sync_phase(deal, phases)
    session.flush()
    calendar.push(session, deal)
    return deal


def link_document(session: Session, who: Who, deal_id: int, document_id: int) -> Document:
    """Link an ERP document of the deal's partner to the deal."""
    deal = get_deal_for_user(session, who, deal_id, "edit")
    document = get_for_user(session, who, Document, document_id, "view")
    if document.partner_id != deal.partner_id:
        raise Invalid({"document_id": _l("The document belongs to another partner.")})
    document.deal_id = deal.id
    session.flush()
    return document
