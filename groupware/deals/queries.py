"""What the deal pages read: the filtered list, the board, the documents around a deal,
the partner page's deals and the form's contact persons.

Every query over deals and documents goes through :func:`visible`, as lists do
everywhere; the pages only parse the request, call these and render.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, case, literal, select
from sqlalchemy.orm import Session, joinedload, selectinload

from groupware.access.policy import Who, visible
from groupware.crm.models import Document, Partner, Person
from groupware.db import escape_like
from groupware.deals.models import (
    DEALS_WORDS,
    DIRECTION_LABELS,
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
    "close_from",
    "close_to",
)
_BY_CLOSE = (Deal.expected_close.is_(None), Deal.expected_close, Deal.id)


def _date_or_none(text: str) -> dt.date | None:
    """A date from the filter form (ISO, as the date input sends it); ignored if not one."""
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def deal_query(who: Who, raw: Mapping[str, str]) -> Select[Deal]:
    """The deals ``who`` may see that match the list's filters ``raw`` (text as typed;
    a value that is not one of a filter's choices is ignored)."""
    query = select(Deal).where(visible(Deal, who))
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
        ("owner_id", Deal.owner_id),
        ("partner_id", Deal.partner_id),
    ):
        value = parse_id(raw.get(name, ""))
        if value is not None:
            query = query.where(id_column == value)
    for name, compare in (
        ("close_from", Deal.expected_close.__ge__),
        ("close_to", Deal.expected_close.__le__),
    ):
        day = _date_or_none(raw.get(name, ""))
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


def list_deals(
    session: Session, who: Who, raw: Mapping[str, str], *, offset: int, limit: int
) -> list[Deal]:
    """A page of :func:`deal_query`, the soonest expected close first."""
    query = deal_query(who, raw).options(
        joinedload(Deal.partner),
        joinedload(Deal.type),
        joinedload(Deal.owner),
        joinedload(Deal.phase),
    )
    return list(session.scalars(query.order_by(*_BY_CLOSE).offset(offset).limit(limit)))


def board_deals(session: Session, who: Who, type_id: int) -> list[Deal]:
    """The open deals of a type that ``who`` may see, the soonest expected close first."""
    return list(
        session.scalars(
            select(Deal)
            .where(visible(Deal, who), Deal.status == "open", Deal.type_id == type_id)
            .options(joinedload(Deal.partner), joinedload(Deal.owner))
            .order_by(*_BY_CLOSE)
        )
    )


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
