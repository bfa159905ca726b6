"""The campaigns' API: ``/campaigns`` (list, one with its phases, create, change, move
to a phase, end) and ``/campaign-types`` (types with their phase templates, edited by
the campaigns' administrators)."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from groupware.access.policy import visible
from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.campaigns import results, service
from groupware.campaigns.models import Campaign
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.crm.api import Ref, ref
from groupware.phases import types_api
from groupware.phases.out import PhaseOut, timeline_out
from groupware.validation import Id, OptionalId, OptionalLocalDate, Schema

api = Api("campaigns")


class CampaignQuery(PageQuery):
    status: Literal["planned", "active", "finished", "cancelled"] | None = None
    type_id: OptionalId = None
    owner_id: OptionalId = None
    team_id: OptionalId = None


class CampaignOut(Out):
    id: int
    name: str
    type: Ref
    owner: Ref | None
    team: Ref | None
    status: str
    starts_on: dt.date
    ends_on: dt.date | None
    budget: decimal.Decimal
    currency: str
    expected_responses: int
    expected_revenue: decimal.Decimal
    description: str
    phase: Ref | None
    phase_due: dt.date | None
    created_at: dt.datetime


class CampaignDetailOut(CampaignOut):
    phases: list[PhaseOut]


class MoveIn(Schema):
    phase_id: Id
    on: OptionalLocalDate = None


def campaign_out(row: Campaign) -> CampaignOut:
    return CampaignOut.of(
        row, type=ref(row.type), owner=ref(row.owner), team=ref(row.team), phase=ref(row.phase)
    )


def _detail(call: Call, row: Campaign) -> CampaignDetailOut:
    phases = timeline_out(service.phases_of(call.db, row))
    return CampaignDetailOut(**campaign_out(row).model_dump(), phases=phases)


def _one(call: Call) -> CampaignDetailOut:
    row = service.get_campaign_for_user(call.db, call.who, call.int_param("campaign_id"))
    return _detail(call, row)


@api.operation(
    "GET",
    "/campaigns",
    summary="Campaigns you may see, by id",
    response=CampaignOut,
    query=CampaignQuery,
    paginated=True,
)
def list_campaigns(call: Call) -> tuple[list[CampaignOut], str | None]:
    q: CampaignQuery = call.query
    query = select(Campaign).where(visible(Campaign, call.who))
    for column, value in (
        (Campaign.status, q.status),
        (Campaign.type_id, q.type_id),
        (Campaign.owner_id, q.owner_id),
        (Campaign.team_id, q.team_id),
    ):
        if value is not None:
            query = query.where(column == value)
    after = q.after_id()
    if after is not None:
        query = query.where(Campaign.id > after)
    loaded = (
        joinedload(Campaign.type),
        joinedload(Campaign.owner),
        joinedload(Campaign.team),
        joinedload(Campaign.phase),
    )
    query = query.options(*loaded).order_by(Campaign.id).limit(q.limit + 1)
    page, cursor = page_of(list(call.db.scalars(query).unique()), q.limit)
    return [campaign_out(c) for c in page], cursor


@api.operation(
    "POST",
    "/campaigns",
    summary="Start a campaign (its phases planned from its type)",
    response=CampaignDetailOut,
    body=service.CampaignIn,
    status=201,
)
def create_campaign(call: Call) -> CampaignDetailOut:
    row = service.create_campaign(call.db, call.who, call.body)
    return _detail(call, service.get_campaign_for_user(call.db, call.who, row.id))


@api.operation(
    "GET",
    "/campaigns/{campaign_id}",
    summary="One campaign with its phases",
    response=CampaignDetailOut,
)
def get_campaign(call: Call) -> CampaignDetailOut:
    return _one(call)


@api.operation(
    "PUT",
    "/campaigns/{campaign_id}",
    summary="Change a campaign (a new type or start plans its phases again)",
    response=CampaignDetailOut,
    body=service.CampaignIn,
)
def put_campaign(call: Call) -> CampaignDetailOut:
    service.update_campaign(call.db, call.who, call.int_param("campaign_id"), call.body)
    return _one(call)


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/move",
    summary="Move an open campaign to one of its phases",
    response=CampaignDetailOut,
    body=MoveIn,
)
def move_campaign(call: Call) -> CampaignDetailOut:
    body: MoveIn = call.body
    campaign_id = call.int_param("campaign_id")
    service.move_campaign(call.db, call.who, campaign_id, body.phase_id, body.on)
    return _one(call)


@api.operation(
    "POST",
    "/campaigns/{campaign_id}/end",
    summary="Finish or cancel a campaign",
    response=CampaignDetailOut,
    body=service.EndIn,
)
def end_campaign(call: Call) -> CampaignDetailOut:
    service.end_campaign(call.db, call.who, call.int_param("campaign_id"), call.body)
    return _one(call)


class RepResultOut(Out):
    name: str
    opened: int
    won: int
    lost: int
    revenue: decimal.Decimal


class PeriodOut(Out):
    label: str
    starts: dt.date
    ends: dt.date
    responses: int
    opened: int
    won: int
    lost: int
    revenue: decimal.Decimal


class ResultsOut(Out):
    targets: dict[str, int]
    responses: int
    response_rate: decimal.Decimal | None
    responses_goal_rate: decimal.Decimal | None
    phases: list[PeriodOut]
    weeks: list[PeriodOut]
    opened: int
    open: int
    won: int
    lost: int
    cancelled: int
    revenue: decimal.Decimal
    budget: decimal.Decimal
    goal: decimal.Decimal
    currency: str
    return_rate: decimal.Decimal | None
    goal_rate: decimal.Decimal | None
    other_currencies: list[str]
    reps: list[RepResultOut]


@api.operation(
    "GET",
    "/campaigns/{campaign_id}/results",
    summary="What a campaign has brought: its targets by status and the responses, its "
    "deals by status, revenue won against budget and goal, per responsible person, per "
    "phase and per week (the targets and deals you may see)",
    response=ResultsOut,
)
def campaign_results(call: Call) -> ResultsOut:
    row = service.get_campaign_for_user(call.db, call.who, call.int_param("campaign_id"))
    found = results.target_results(call.db, call.who, row)
    by_day = results.days(call.db, call.who, row)
    return ResultsOut.of(
        service.results(call.db, call.who, row),
        targets=found.statuses,
        responses=found.responses,
        response_rate=found.response_rate,
        responses_goal_rate=found.goal_rate,
        phases=[PeriodOut.of(p) for p in results.phases(call.db, row, by_day)],
        weeks=[PeriodOut.of(p) for p in results.weeks(row, by_day)],
    )


types_api.declare(api, CAMPAIGN_TYPES)
