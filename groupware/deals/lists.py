"""The deals list as people shape it (:mod:`groupware.lists`), declared in the deals'
``area.py``: it opens on the open deals, the soonest expected close first, with the
amount and the weighted amount (amount × probability) totalled per currency.

Links from elsewhere narrow it further than its form does (the dashboard's figures: a
phase, a team, deals closed in a period, a currency; a partner's page: its deals); the
list names those filters above its rows.

Bulk actions: another responsible rep (it takes the right to change whom a deal is
shared with, as the deal's form does) and another priority, each with its undo.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, and_, case, literal, literal_column, or_, select
from sqlalchemy.orm import Session

from groupware.access.policy import Who, require_share
from groupware.accounts.models import User
from groupware.accounts.users import active_user_choices
from groupware.crm.documents import CURRENCIES
from groupware.crm.models import Partner
from groupware.crm.partners import visible_names
from groupware.deals import calendar, queries
from groupware.deals.models import (
    CAMPAIGNS,
    DIRECTION_LABELS,
    PRIORITY_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    Deal,
)
from groupware.i18n import _, _l, format_date, ngettext, today
from groupware.lists import narrow
from groupware.lists.bulk import field_action
from groupware.lists.declare import Column, ListDef
from groupware.phases.models import Phase, ProcessType, TypePhase
from groupware.validation import parse_id

# A decimal divisor: SQLite would divide two integers as integers.
HUNDRED: Any = literal_column("100.0")
WEIGHTED = Deal.amount * Deal.probability / HUNDRED


def _rows(who: Who, filters: Mapping[str, str], action: str) -> Select[Any]:
    return queries.deal_query(who, filters, action)


def _late() -> Any:
    """An open deal whose phase or expected close has passed."""
    day = today()
    late = and_(Deal.status == "open", or_(Deal.phase_due < day, Deal.expected_close < day))
    return case((late, literal("late")), else_=literal(""))


def _while_open(day: Any) -> Any:
    """A date that makes a deal late once past, while the deal is open."""
    return case((Deal.status == "open", day), else_=None)


# -- the filters the dashboard's figures set, in words ---------------------------------


def _phase(session: Session, who: Who, value: str) -> str:
    step_id = parse_id(value)
    name = (
        session.scalar(select(TypePhase.name).where(TypePhase.id == step_id)) if step_id else None
    )
    return _("Phase: %(phase)s", phase=name) if name else ""


def _partner(session: Session, who: Who, value: str) -> str:
    partner_id = parse_id(value)
    names = visible_names(session, who, {partner_id}) if partner_id else {}
    return _("Partner: %(partner)s", partner=names[partner_id]) if partner_id in names else ""


def _campaign(session: Session, who: Who, value: str) -> str:
    campaign_id = parse_id(value)
    name = queries.campaign_name(session, who, campaign_id) if campaign_id else None
    return _("Campaign: %(campaign)s", campaign=name) if name else ""


def _day(text: str) -> str:
    day = queries.date_or_none(text)
    return format_date(day) if day else ""


def _closed_from(session: Session, who: Who, value: str) -> str:
    day = _day(value)
    return _("Closed on or after %(date)s", date=day) if day else ""


def _closed_to(session: Session, who: Who, value: str) -> str:
    day = _day(value)
    return _("Closed on or before %(date)s", date=day) if day else ""


def _currency(session: Session, who: Who, value: str) -> str:
    return _("In %(currency)s", currency=value) if value in CURRENCIES else ""


def _users(session: Session, who: Who) -> list[tuple[str, str]]:
    return [(str(user_id), name) for user_id, name in active_user_choices(session)]


def _may_share(session: Session, who: Who, deal: Deal) -> None:
    require_share(session, who, deal)


def _push(session: Session, deal: Deal) -> None:
    calendar.push(session, deal)


DEALS = ListDef(
    name="deals",
    label=_l("Deals"),
    endpoint="deals",
    model=Deal,
    module="deals",
    query=_rows,
    filters=queries.FILTERS,
    narrowing={
        "partner_id": _partner,
        "campaign_id": _campaign,
        "step_id": _phase,
        "team_id": narrow.team,
        "closed_from": _closed_from,
        "closed_to": _closed_to,
        "currency": _currency,
    },
    columns=(
        Column(
            "title",
            _l("Title"),
            Deal.title,
            link=("/deals/{id}", Deal.id),
            badge=(Deal.direction, DIRECTION_LABELS),
        ),
        Column(
            "partner",
            _l("Partner"),
            Partner.name,
            link=("/partners/{id}", Deal.partner_id),
            join=("partner",),
            sort=(Partner.name_search, Deal.id),
        ),
        Column("type", _l("Type"), ProcessType.name, join=("type",)),
        Column(
            "campaign",
            _l("Campaign"),
            CAMPAIGNS.c.name,
            link=("/campaigns/{id}", Deal.campaign_id),
            join=("campaign",),
        ),
        Column(
            "phase",
            _l("Phase"),
            Phase.name,
            join=("phase",),
            overdue=(_while_open(Deal.phase_due), _while_open(Deal.expected_close)),
        ),
        Column("status", _l("Status"), Deal.status, show="choice", choices=STATUS_LABELS),
        Column("priority", _l("Priority"), Deal.priority, show="choice", choices=PRIORITY_LABELS),
        Column("source", _l("Source"), Deal.source, show="choice", choices=SOURCE_LABELS),
        Column("owner", _l("Responsible"), User.full_name, join=("owner",)),
        Column(
            "amount",
            _l("Amount"),
            Deal.amount,
            show="money",
            currency=Deal.currency,
            total=True,
        ),
        Column(
            "weighted",
            _l("Weighted"),
            WEIGHTED,
            show="money",
            currency=Deal.currency,
            total=True,
        ),
        Column("probability", _l("Probability"), Deal.probability, show="percent"),
        Column("expected_close", _l("Expected close"), Deal.expected_close, show="date"),
        Column("started_on", _l("Started"), Deal.started_on, show="date"),
        Column("closed_on", _l("Closed"), Deal.closed_on, show="date"),
        Column("created", _l("Created"), Deal.created_at, show="date"),
    ),
    joins={
        "partner": lambda q: q.join(Partner, Partner.id == Deal.partner_id),
        "type": lambda q: q.join(ProcessType, ProcessType.id == Deal.type_id),
        "campaign": lambda q: q.outerjoin(CAMPAIGNS, CAMPAIGNS.c.id == Deal.campaign_id),
        "phase": lambda q: q.outerjoin(Phase, Phase.id == Deal.phase_id),
        "owner": lambda q: q.outerjoin(User, User.id == Deal.owner_id),
    },
    default_columns=(
        "title",
        "partner",
        "type",
        "phase",
        "priority",
        "owner",
        "amount",
        "weighted",
        "probability",
        "expected_close",
    ),
    default_sort="expected_close",
    default_filters={"status": "open"},
    bulk=(
        field_action(
            "reassign",
            _l("Give to another rep"),
            Deal,
            "owner_id",
            choices=_users,
            coerce=int,
            value_label=_l("New responsible rep"),
            check=_may_share,
            after=_push,
        ),
        field_action(
            "priority",
            _l("Change the priority"),
            Deal,
            "priority",
            choices=narrow.labelled(PRIORITY_LABELS),
            value_label=_l("New priority"),
        ),
    ),
    row_class=_late,
    count=lambda n: ngettext("%(num)d deal", "%(num)d deals", n),
)
