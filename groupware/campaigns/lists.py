"""The campaigns list as people shape it (:mod:`groupware.lists`): it opens on the
campaigns under way or planned, the soonest to start first; a filter shows the ended
ones too. Bulk action: hand the chosen campaigns to another team (with its undo)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, case, select

from groupware.access.policy import Who, visible
from groupware.accounts.models import Team, User
from groupware.campaigns.models import OPEN_STATUSES, STATUS_LABELS, Campaign
from groupware.db import escape_like
from groupware.i18n import _l, ngettext, today
from groupware.lists.declare import Column, ListDef
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
