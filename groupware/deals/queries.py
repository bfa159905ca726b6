"""What the deal pages read: the filtered list, the board, the documents around a deal,
the partner page's deals and the form's contact persons.

Every query over deals and documents goes through :func:`visible`, as lists do
everywhere; the pages only parse the request, call these and render.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, case, func, literal, literal_column, select
from sqlalchemy.orm import Session, joinedload, selectinload

from groupware.access.policy import Who, record_models, visible
from groupware.accounts.models import TeamMember
from groupware.crm.documents import CURRENCIES
from groupware.crm.models import Document, Partner, Person
from groupware.db import cents, escape_like
from groupware.deals.models import (
    DEALS_WORDS,
    DIRECTION_LABELS,
    OPEN_CAMPAIGN,
    PRIORITY_LABELS,
    SOURCE_LABELS,
    STATUS_LABELS,
    Deal,
)
from groupware.search import Terms
from groupware.search.words import matching
from groupware.validation import parse_id

# The list's filters, as its query string names them.
FILTERS = (
    "q",
    "direction",
    "status",
    "type_id",
    "priority",
    "source",
    "owner_id",
    "partner_id",
    "campaign_id",
    "close_from",
    "close_to",
    # What the dashboard's figures link to: a phase, a team's deals, deals closed in a
    # period, one currency.
    "step_id",
    "team_id",
    "closed_from",
    "closed_to",
    "currency",
)
_BY_CLOSE = (Deal.expected_close.is_(None), Deal.expected_close, Deal.id)


def date_or_none(text: str) -> dt.date | None:
    """A date from the filter form (ISO, as the date input sends it); ignored if not one."""
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def deal_query(who: Who, raw: Mapping[str, str], action: str = "view") -> Select[Deal]:
    """The deals ``who`` may see (or ``action``) that match the list's filters ``raw``
    (text as typed; a value that is not one of a filter's choices is ignored)."""
    query = select(Deal).where(visible(Deal, who, action))
    if raw.get("q"):
        query = query.where(Deal.title.ilike(f"%{escape_like(raw['q'])}%", escape="\\"))
    for name, column, allowed in (
        ("direction", Deal.direction, DIRECTION_LABELS),
        ("status", Deal.status, STATUS_LABELS),
        ("priority", Deal.priority, PRIORITY_LABELS),
        ("source", Deal.source, SOURCE_LABELS),
    ):
        if raw.get(name, "") in allowed:
            query = query.where(column == raw[name])
    for name, id_column in (
        ("type_id", Deal.type_id),
        ("campaign_id", Deal.campaign_id),
        ("owner_id", Deal.owner_id),
        ("partner_id", Deal.partner_id),
        ("step_id", Deal.step_id),
    ):
        value = parse_id(raw.get(name, ""))
        if value is not None:
            query = query.where(id_column == value)
    team_id = parse_id(raw.get("team_id", ""))
    if team_id is not None:
        members = select(TeamMember.user_id).where(TeamMember.team_id == team_id)
        query = query.where(Deal.owner_id.in_(members))
    if raw.get("currency", "") in CURRENCIES:
        query = query.where(Deal.currency == raw["currency"])
    for name, compare in (
        ("close_from", Deal.expected_close.__ge__),
        ("close_to", Deal.expected_close.__le__),
        ("closed_from", Deal.closed_on.__ge__),
        ("closed_to", Deal.closed_on.__le__),
    ):
        day = date_or_none(raw.get(name, ""))
        if day is not None:
            query = query.where(compare(day))
    return query


def search_rows(session: Session, who: Who, terms: Terms) -> Select[Any]:
    """The deals the header's search finds (``groupware.search``) by the starts of the
    words of their titles: id, title, and the partner's name when ``who`` may see the
    partner too (a deal may be shared without its partner)."""
    partner = case((visible(Partner, who), Partner.name), else_=literal(""))
    query = (
        select(Deal.id, Deal.title, partner)
        .join(Partner, Partner.id == Deal.partner_id)
        .where(visible(Deal, who))
    )
    return matching(session, DEALS_WORDS, Deal, query, terms)


def _on_board(
    who: Who, type_id: int, owner_id: int | None, campaign_id: int | None = None
) -> list[Any]:
    conditions = [visible(Deal, who), Deal.status == "open", Deal.type_id == type_id]
    if owner_id is not None:
        conditions.append(Deal.owner_id == owner_id)
    if campaign_id is not None:
        conditions.append(Deal.campaign_id == campaign_id)
    return conditions


def board_deals(
    session: Session,
    who: Who,
    type_id: int,
    *,
    owner_id: int | None = None,
    campaign_id: int | None = None,
) -> list[Deal]:
    """The open deals of a type that ``who`` may see (those ``owner_id`` is responsible
    for, those of a campaign, when given), the soonest expected close first."""
    return list(
        session.scalars(
            select(Deal)
            .where(*_on_board(who, type_id, owner_id, campaign_id))
            .options(joinedload(Deal.partner), joinedload(Deal.owner))
            .order_by(*_BY_CLOSE)
        )
    )


@dataclass(frozen=True)
class ColumnTotal:
    """What a column of the board holds in one currency."""

    currency: str
    count: int
    amount: decimal.Decimal
    weighted: decimal.Decimal


def board_totals(
    session: Session,
    who: Who,
    type_id: int,
    *,
    owner_id: int | None = None,
    campaign_id: int | None = None,
) -> dict[int | None, list[ColumnTotal]]:
    """Per column (template step) of the board: the deals, their amount and weighted
    amount (amount × probability), per currency, largest first."""
    weighted = func.sum(Deal.amount * Deal.probability / literal_column("100.0"))
    rows = session.execute(
        select(Deal.step_id, Deal.currency, func.count(), func.sum(Deal.amount), weighted)
        .where(*_on_board(who, type_id, owner_id, campaign_id))
        .group_by(Deal.step_id, Deal.currency)
    )
    found: dict[int | None, list[ColumnTotal]] = {}
    for step_id, currency, count, amount, weight in rows:
        found.setdefault(step_id, []).append(
            ColumnTotal(currency, int(count), cents(amount), cents(weight))
        )
    for totals in found.values():
        totals.sort(key=lambda t: (-t.amount, t.currency))
    return found


def first_type_with_deals(
    session: Session, who: Who, owner_id: int | None, campaign_id: int | None = None
) -> int | None:
    """The type of the soonest closing open deal of ``owner_id`` (or any ``who`` may
    see; of a campaign, when given): where the board opens when no type is asked for."""
    query = select(Deal.type_id).where(visible(Deal, who), Deal.status == "open")
    if owner_id is not None:
        query = query.where(Deal.owner_id == owner_id)
    if campaign_id is not None:
        query = query.where(Deal.campaign_id == campaign_id)
    return session.scalar(query.order_by(*_BY_CLOSE).limit(1))


def partner_documents(
    session: Session, who: Who, deal: Deal, *, limit: int = 100
) -> list[Document]:
    """The newest documents of the deal's partner that ``who`` may see (linked to this
    deal, to another or to none)."""
    return list(
        session.scalars(
            select(Document)
            .where(Document.partner_id == deal.partner_id, visible(Document, who))
            .order_by(Document.date.desc(), Document.id.desc())
            .limit(limit)
        )
    )


def deals_of_partner(session: Session, who: Who, partner_id: int, *, limit: int = 50) -> list[Deal]:
    """The partner's deals ``who`` may see: open ones first, then by expected close."""
    return list(
        session.scalars(
            select(Deal)
            .where(Deal.partner_id == partner_id, visible(Deal, who))
            .options(joinedload(Deal.phase), selectinload(Deal.owner))
            .order_by(Deal.status != "open", Deal.expected_close.is_(None), Deal.expected_close)
            .limit(limit)
        )
    )


def form_partner(
    session: Session, who: Who, partner_id: int | None
) -> tuple[Partner | None, list[Any]]:
    """The partner a deal form names, if ``who`` may see it, and its persons as
    ``(id, name)`` options. A form sent back refused (a bad amount) must not name a
    partner whose id was typed by someone who may not see it."""
    partner = None
    if partner_id:
        partner = session.scalar(
            select(Partner).where(Partner.id == partner_id, visible(Partner, who))
        )
    if partner is None:
        return None, []
    persons = session.scalars(select(Person).where(Person.partner_id == partner.id))
    return partner, [(p.id, p.full_name) for p in persons]


def campaign_model() -> Any:
    """The campaigns' mapped class, found through the access policy's record types
    (deals do not import the campaigns area, which builds on them); None without it."""
    return record_models().get("campaigns")


def campaign_choices(
    session: Session, who: Who, keep: int | None = None, *, every: bool = False
) -> list[tuple[int, str]]:
    """``(id, name)`` of the campaigns a deal may go into: planned or running ones
    ``who`` may see, and ``keep`` (the deal's own) whatever became of it; ``every``
    one ``who`` may see (a report's filter)."""
    model = campaign_model()
    if model is None:
        return []
    wanted = visible(model, who) if every else visible(model, who) & model.status.in_(OPEN_CAMPAIGN)
    if keep is not None:
        wanted = wanted | (model.id == keep)
    rows = session.execute(select(model.id, model.name).where(wanted).order_by(model.name))
    return [(campaign_id, name) for campaign_id, name in rows]


def campaign_name(session: Session, who: Who, campaign_id: int) -> str | None:
    """The name of a campaign ``who`` may see, else None."""
    model = campaign_model()
    if model is None:
        return None
    name = session.scalar(select(model.name).where(model.id == campaign_id, visible(model, who)))
    return str(name) if name is not None else None
