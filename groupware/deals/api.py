"""API: ``/deals`` (sales and purchases, their phases, closing and the activity log) and
``/deal-types`` (types with their phase templates, edited by administrators)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from groupware.access.policy import visible
from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.crm.api import Ref
from groupware.deals import reports, service, types
from groupware.deals.models import Deal
from groupware.i18n import today
from groupware.phases import types_api
from groupware.phases.out import PhaseOut, timeline_out
from groupware.validation import Id, OptionalId, OptionalLocalDate, Schema

api = Api("deals")


class DealQuery(PageQuery):
    direction: Literal["sale", "purchase"] | None = None
    status: Literal["open", "won", "lost", "cancelled"] | None = None
    type_id: OptionalId = None
    campaign_id: OptionalId = None
    partner_id: OptionalId = None
    owner_id: OptionalId = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    source: str | None = None


class CampaignOf(Schema):
    campaign_id: OptionalId = None


class DealOut(Out):
    id: int
    direction: str
    title: str
    partner: Ref
    person_id: int | None
    type: Ref
    campaign_id: int | None
    phase: Ref | None
    phase_due: dt.date | None
    status: str
    lost_reason: str
    priority: str
    source: str
    owner: Ref | None
    member_ids: list[int]
    amount: decimal.Decimal
    currency: str
    probability: int
    started_on: dt.date
    expected_close: dt.date | None
    closed_on: dt.date | None
    description: str
    created_at: dt.datetime


class DealDetailOut(DealOut):
    phases: list[PhaseOut]


class MoveIn(Schema):
    phase_id: Id
    on: OptionalLocalDate = None


def deal_out(deal: Deal) -> DealOut:
    return DealOut.of(
        deal,
        owner=Ref(id=deal.owner.id, name=str(deal.owner)) if deal.owner else None,
        member_ids=sorted(m.user_id for m in deal.members),
    )


def _detail(call: Call, deal: Deal) -> DealDetailOut:
    phases = timeline_out(service.phases_of(call.db, deal))
    return DealDetailOut(**deal_out(deal).model_dump(), phases=phases)


_LOADED = (
    joinedload(Deal.partner),
    joinedload(Deal.type),
    joinedload(Deal.owner),
    joinedload(Deal.phase),
    selectinload(Deal.members),
)


@api.operation(
    "GET",
    "/deals",
    summary="Deals you may see, by id",
    response=DealOut,
    query=DealQuery,
    paginated=True,
)
def list_deals(call: Call) -> tuple[list[DealOut], str | None]:
    q: DealQuery = call.query
    query = select(Deal).where(visible(Deal, call.who))
    for column, value in (
        (Deal.direction, q.direction),
        (Deal.status, q.status),
        (Deal.type_id, q.type_id),
        (Deal.campaign_id, q.campaign_id),
        (Deal.partner_id, q.partner_id),
        (Deal.owner_id, q.owner_id),
        (Deal.priority, q.priority),
        (Deal.source, q.source),
    ):
        if value is not None:
            query = query.where(column == value)
    after = q.after_id()
    if after is not None:
        query = query.where(Deal.id > after)
    query = query.options(*_LOADED).order_by(Deal.id).limit(q.limit + 1)
    page, cursor = page_of(list(call.db.scalars(query).unique()), q.limit)
    return [deal_out(d) for d in page], cursor


@api.operation(
    "POST",
    "/deals",
    summary="Start a deal",
    response=DealDetailOut,
    body=service.DealIn,
    status=201,
)
def create_deal(call: Call) -> DealDetailOut:
    deal = service.create_deal(call.db, call.who, call.body)
    return _detail(call, service.get_deal_for_user(call.db, call.who, deal.id))


@api.operation(
    "GET", "/deals/{deal_id}", summary="One deal with its phases", response=DealDetailOut
)
def get_deal(call: Call) -> DealDetailOut:
    return _detail(call, service.get_deal_for_user(call.db, call.who, call.int_param("deal_id")))


@api.operation(
    "PUT", "/deals/{deal_id}", summary="Change a deal", response=DealDetailOut, body=service.DealIn
)
def put_deal(call: Call) -> DealDetailOut:
    deal = service.update_deal(call.db, call.who, call.int_param("deal_id"), call.body)
    return _detail(call, deal)


@api.operation(
    "POST",
    "/deals/{deal_id}/move",
    summary="Move an open deal to one of its phases",
    response=DealDetailOut,
    body=MoveIn,
)
def move_deal(call: Call) -> DealDetailOut:
    body: MoveIn = call.body
    deal = service.move_deal(call.db, call.who, call.int_param("deal_id"), body.phase_id, body.on)
    return _detail(call, deal)


@api.operation(
    "POST",
    "/deals/{deal_id}/close",
    summary="Close a deal as won, lost (with a reason) or cancelled",
    response=DealDetailOut,
    body=service.CloseIn,
)
def close_deal(call: Call) -> DealDetailOut:
    deal = service.close_deal(call.db, call.who, call.int_param("deal_id"), call.body)
    return _detail(call, deal)


@api.operation(
    "POST", "/deals/{deal_id}/reopen", summary="Open a closed deal again", response=DealDetailOut
)
def reopen_deal(call: Call) -> DealDetailOut:
    return _detail(call, service.reopen_deal(call.db, call.who, call.int_param("deal_id")))


types_api.declare(api, types.DEAL_TYPES)


# -- reports ----------------------------------------------------------------------------


class ForecastOut(BaseModel):
    month: dt.date
    key: str
    forecast: decimal.Decimal
    won: decimal.Decimal
    invoiced: decimal.Decimal


class PipelineOut(BaseModel):
    type: str
    position: int
    phase: str
    count: int
    amount: decimal.Decimal
    weighted: decimal.Decimal


class RateOut(BaseModel):
    key: str
    won: int
    lost: int
    rate: float | None


class CycleOut(BaseModel):
    type: str
    deals: int
    average_days: float


@api.operation(
    "GET",
    "/reports/forecast",
    summary="Forecast (open deals × probability) against won deals and invoices, per month",
    response=ForecastOut,
    query=reports.Period,
    paginated=True,
)
def report_forecast(call: Call) -> tuple[list[ForecastOut], None]:
    q: reports.Period = call.query
    rows = reports.forecast(
        call.db, call.who, *q.span, group_by=q.by, currency=q.currency, campaign_id=q.campaign_id
    )
    return [ForecastOut(**vars(r)) for r in rows], None


@api.operation(
    "GET",
    "/reports/pipeline",
    summary="Open deals per type and phase",
    response=PipelineOut,
    query=reports.Period,
    paginated=True,
)
def report_pipeline(call: Call) -> tuple[list[PipelineOut], None]:
    q: reports.Period = call.query
    rows = reports.pipeline(call.db, call.who, currency=q.currency, campaign_id=q.campaign_id)
    return [PipelineOut(**vars(r)) for r in rows], None


@api.operation(
    "GET",
    "/reports/win-rate",
    summary="Won against lost among deals closed in the period (per rep, type or source)",
    response=RateOut,
    query=reports.Period,
    paginated=True,
)
def report_win_rate(call: Call) -> tuple[list[RateOut], None]:
    q: reports.Period = call.query
    by = "owner" if q.by == "none" else q.by
    rows = reports.win_rate(call.db, call.who, *q.span, group_by=by, campaign_id=q.campaign_id)
    return [RateOut(key=r.key, won=r.won, lost=r.lost, rate=r.rate) for r in rows], None


@api.operation(
    "GET",
    "/reports/cycle-time",
    summary="Average days from start to close of deals won in the period, per type",
    response=CycleOut,
    query=reports.Period,
    paginated=True,
)
def report_cycle_time(call: Call) -> tuple[list[CycleOut], None]:
    q: reports.Period = call.query
    rows = reports.cycle_time(call.db, call.who, *q.span, campaign_id=q.campaign_id)
    return [CycleOut(**vars(r)) for r in rows], None


@api.operation(
    "GET",
    "/reports/overdue",
    summary="Open deals that are late (of one campaign, when asked)",
    response=DealOut,
    query=CampaignOf,
    paginated=True,
)
def report_overdue(call: Call) -> tuple[list[DealOut], None]:
    campaign_id = call.query.campaign_id
    late = reports.overdue(call.db, call.who, today(), campaign_id=campaign_id)
    return [deal_out(d) for d in late], None
