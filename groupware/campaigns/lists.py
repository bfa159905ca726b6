"""The campaigns list as people shape it (:mod:`groupware.lists`): it opens on the
campaigns under way or planned, the soonest to start first; a filter shows the ended
ones too. A campaign's target list, with its bulk actions (a new status, with its
undo; taking targets off the list), and the partner list's "add to a campaign"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, case, select
from sqlalchemy.orm import Session, aliased

from groupware.access.policy import Who, visible
from groupware.accounts.models import Team, User
from groupware.campaigns import targets
from groupware.campaigns.models import (
    OPEN_STATUSES,
    STATUS_LABELS,
    TARGET_SOURCE_LABELS,
    TARGET_STATUS_LABELS,
    Campaign,
    CampaignTarget,
)
from groupware.crm.models import Partner
from groupware.crm.normalize import search_text
from groupware.db import escape_like
from groupware.deals.models import Deal
from groupware.errors import Invalid
from groupware.i18n import _l, ngettext, today
from groupware.lists import narrow
from groupware.lists.declare import BulkAction, Column, ListDef
from groupware.phases.models import Phase, ProcessType
from groupware.validation import parse_id

SHOWN: dict[str, Any] = {"": _l("Planned and under way"), "all": _l("All, ended ones too")}


def campaign_query(who: Who, raw: Mapping[str, str], action: str = "view") -> Select[Any]:
    """The campaigns ``who`` may see (or ``action``) that match the list's filters."""
    query = select(Campaign).where(visible(Campaign, who, action))
    if raw.get("shown", "") != "all":
        query = query.where(Campaign.status.in_(OPEN_STATUSES))
    if raw.get("q"):
        query = query.where(Campaign.name.ilike(f"%{escape_like(raw['q'])}%", escape="\\"))
    for name, column in (("type_id", Campaign.type_id), ("team_id", Campaign.team_id)):
        value = parse_id(raw.get(name, ""))
        if value is not None:
            query = query.where(column == value)
    return query


def _while_open(day: Any) -> Any:
    """A date that makes a campaign late once past, while it is open."""
    return case((Campaign.status.in_(OPEN_STATUSES), day), else_=None)


def _late() -> Any:
    late = Campaign.status.in_(OPEN_STATUSES) & (Campaign.phase_due < today())
    return case((late, "late"), else_="")


CAMPAIGNS = ListDef(
    name="campaigns",
    label=_l("Campaigns"),
    endpoint="campaigns",
    model=Campaign,
    module="campaigns",
    query=campaign_query,
    filters=("shown", "q", "type_id", "team_id"),
    columns=(
        Column("name", _l("Campaign"), Campaign.name, link=("/campaigns/{id}", Campaign.id)),
        Column("type", _l("Type"), ProcessType.name, join=("type",)),
        Column(
            "phase",
            _l("Phase"),
            Phase.name,
            join=("phase",),
            overdue=(_while_open(Campaign.phase_due),),
        ),
        Column("status", _l("Status"), Campaign.status, show="choice", choices=STATUS_LABELS),
        Column("owner", _l("Responsible"), User.full_name, join=("owner",)),
        Column("team", _l("Team"), Team.name, join=("team",)),
        Column("starts", _l("Starts"), Campaign.starts_on, show="date"),
        Column("ends", _l("Ends"), Campaign.ends_on, show="date"),
        Column(
            "budget",
            _l("Budget"),
            Campaign.budget,
            show="money",
            currency=Campaign.currency,
            total=True,
        ),
        Column(
            "revenue_goal",
            _l("Expected revenue"),
            Campaign.expected_revenue,
            show="money",
            currency=Campaign.currency,
            total=True,
        ),
        Column(
            "responses_goal", _l("Expected responses"), Campaign.expected_responses, show="number"
        ),
    ),
    joins={
        "type": lambda q: q.join(ProcessType, ProcessType.id == Campaign.type_id),
        "phase": lambda q: q.outerjoin(Phase, Phase.id == Campaign.phase_id),
        "owner": lambda q: q.outerjoin(User, User.id == Campaign.owner_id),
        "team": lambda q: q.outerjoin(Team, Team.id == Campaign.team_id),
    },
    default_columns=("name", "type", "phase", "status", "owner", "starts", "ends", "budget"),
    default_sort="starts",
    row_class=_late,
    count=lambda n: ngettext("%(num)d campaign", "%(num)d campaigns", n),
)


# -- a campaign's targets -------------------------------------------------------------


def target_query(who: Who, raw: Mapping[str, str], action: str = "view") -> Select[Any]:
    """The targets of the campaign of the ``campaign_id`` filter (one ``who`` may see)
    whose partners ``who`` may see, filtered by status, rep and the partner's name.
    Without a campaign the list shows nothing (and says so)."""
    campaign_id = parse_id(raw.get("campaign_id", ""))
    if campaign_id is None:
        raise Invalid({"campaign_id": _l("Open the target list from its campaign.")})
    seen = select(Campaign.id).where(Campaign.id == campaign_id, visible(Campaign, who))
    query = targets.targets_query(who, campaign_id, action)
    query = query.where(CampaignTarget.campaign_id.in_(seen))
    status = raw.get("status", "")
    if status:
        if status not in TARGET_STATUS_LABELS:
            raise Invalid({"status": _l("Choose a status from the list.")})
        query = query.where(CampaignTarget.status == status)
    rep_id = parse_id(raw.get("rep_id", ""))
    if rep_id is not None:
        query = query.where(CampaignTarget.rep_id == rep_id)
    if raw.get("source", "") in TARGET_SOURCE_LABELS:
        query = query.where(CampaignTarget.source == raw["source"])
    words = search_text(raw.get("q", "")[:100]).split()
    for word in words[:5]:
        query = query.where(Partner.name_search.like(f"%{escape_like(word)}%", escape="\\"))
    return query


def _set_status(session: Session, who: Who, ids: Sequence[int], value: str) -> Any:
    return targets.set_status(session, who, ids, value)


def _put_back(session: Session, who: Who, before: Any) -> int:
    return targets.put_back_statuses(session, who, before)


def _remove(session: Session, who: Who, ids: Sequence[int], value: str) -> Any:
    targets.remove_targets(session, who, ids)
    return None


Rep = aliased(User, name="target_rep")

TARGETS = ListDef(
    name="campaign_targets",
    label=_l("Campaign targets"),
    endpoint="campaign_targets",
    model=CampaignTarget,
    module="campaigns",
    query=target_query,
    filters=("campaign_id", "q", "status", "rep_id", "source"),
    filter_labels={
        "campaign_id": _l("Campaign"),
        "q": _l("Partner"),
        "status": _l("Status"),
        "rep_id": _l("Rep"),
        "source": _l("Source"),
    },
    columns=(
        Column(
            "partner",
            _l("Partner"),
            Partner.name,
            link=("/partners/{id}", CampaignTarget.partner_id),
            sort=(Partner.name_search, CampaignTarget.id),
        ),
        Column("city", _l("City"), Partner.city),
        Column("rep", _l("Rep"), Rep.full_name, join=("rep",)),
        Column(
            "status",
            _l("Status"),
            CampaignTarget.status,
            show="choice",
            choices=TARGET_STATUS_LABELS,
        ),
        Column(
            "source",
            _l("Source"),
            CampaignTarget.source,
            show="choice",
            choices=TARGET_SOURCE_LABELS,
        ),
        Column(
            "deal",
            _l("Deal"),
            Deal.title,
            link=("/deals/{id}", CampaignTarget.deal_id),
            join=("deal",),
        ),
        Column(
            "added",
            _l("Added"),
            CampaignTarget.added_at,
            show="date",
            sort=(CampaignTarget.added_at, CampaignTarget.id),
        ),
        Column("responded", _l("Answered"), CampaignTarget.responded_at, show="date"),
    ),
    joins={
        "rep": lambda q: q.outerjoin(Rep, Rep.id == CampaignTarget.rep_id),
        "deal": lambda q: q.outerjoin(Deal, Deal.id == CampaignTarget.deal_id),
    },
    default_columns=("partner", "city", "rep", "status", "deal", "added"),
    default_sort="partner",
    bulk=(
        BulkAction(
            "status",
            _l("Change the status"),
            _set_status,
            _put_back,
            choices=narrow.labelled(TARGET_STATUS_LABELS),
            value_label=_l("New status"),
            right="view",
        ),
        BulkAction("remove", _l("Take off the list"), _remove, danger=True),
    ),
    count=lambda n: ngettext("%(num)d target", "%(num)d targets", n),
)


# -- the partner list's "add to a campaign" -------------------------------------------


def _campaign_choices(session: Session, who: Who) -> list[tuple[str, str]]:
    """The open campaigns ``who`` may change, newest first."""
    rows = session.execute(
        select(Campaign.id, Campaign.name)
        .where(Campaign.status.in_(OPEN_STATUSES), visible(Campaign, who, "edit"))
        .order_by(Campaign.starts_on.desc(), Campaign.id.desc())
        .limit(200)
    )
    return [(str(campaign_id), name) for campaign_id, name in rows]


def _add_to_campaign(session: Session, who: Who, ids: Sequence[int], value: str) -> Any:
    campaign_id = parse_id(value)
    if campaign_id is None:
        raise Invalid({"value": _l("Choose a campaign.")})
    there = targets.on_list(session, campaign_id, ids)
    targets.add_partners(session, who, campaign_id, ids)
    return {"campaign_id": campaign_id, "partner_ids": [i for i in ids if i not in there]}


def _take_back(session: Session, who: Who, data: Any) -> int:
    return targets.take_back_partners(session, who, data["campaign_id"], data["partner_ids"])


ADD_TO_CAMPAIGN = BulkAction(
    "add_to_campaign",
    _l("Add to a campaign"),
    _add_to_campaign,
    _take_back,
    choices=_campaign_choices,
    value_label=_l("Campaign"),
    right="view",
)
