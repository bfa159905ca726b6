"""ERP documents (offers, orders, invoices, delivery notes) and the figures the partner
360° page shows: totals per year and kind, revenue per month, open items.

Documents arrive from the ERP by CSV import or through the API; the pair (kind,
number) identifies one, so sending it again updates it. Revenue is invoiced: the net
amount of invoices that are not cancelled.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator
from sqlalchemy import Select, extract, func, select
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, get_for_user, visible
from groupware.crm.models import DOCUMENTS_WORDS, Document, Partner
from groupware.crm.normalize import search_text
from groupware.db import escape_like
from groupware.errors import Invalid
from groupware.i18n import _l
from groupware.search import Terms
from groupware.search.words import matching
from groupware.validation import (
    Id,
    LocalDate,
    LocalDecimal,
    OptionalId,
    OptionalLocalDate,
    Schema,
    fail,
)

CURRENCIES = ("EUR", "USD", "GBP", "CHF", "HRK", "BAM", "RSD", "HUF")


def _known_currency(value: str) -> str:
    if value.upper() not in CURRENCIES:
        raise fail(_l("Unknown currency."))
    return value.upper()


# An input's currency: one of CURRENCIES, in any case (a deal's, a campaign's).
Currency = Annotated[str, Field(min_length=3, max_length=3), AfterValidator(_known_currency)]
Kind = Literal["offer", "order", "invoice", "delivery_note"]


class DocumentIn(Schema):
    kind: Kind
    number: str = Field(min_length=1, max_length=64)
    date: LocalDate
    due_date: OptionalLocalDate = None
    partner_id: Id
    net_amount: LocalDecimal = Field(max_digits=14, decimal_places=2)
    gross_amount: LocalDecimal = Field(max_digits=14, decimal_places=2)
    currency: str = Field(default="EUR", min_length=3, max_length=3)
    status: Literal["draft", "open", "closed", "cancelled"] = "open"
    open_amount: LocalDecimal = Field(default=decimal.Decimal(0), max_digits=14, decimal_places=2)

    @model_validator(mode="after")
    def _amounts(self) -> DocumentIn:
        self.currency = self.currency.upper()
        if self.currency not in CURRENCIES:
            raise fail(_l("Unknown currency."))
        if self.kind != "invoice" and (self.net_amount < 0 or self.gross_amount < 0):
            raise fail(_l("Only invoices (credit notes) may have negative amounts."))
        if abs(self.gross_amount) < abs(self.net_amount):
            raise fail(_l("The gross amount cannot be smaller than the net amount."))
        if self.due_date is not None and self.due_date < self.date:
            raise fail(_l("The due date is before the document date."))
        return self


def get_document_for_user(
    session: Session, who: Who, document_id: int, action: str = "view"
) -> Document:
    return get_for_user(
        session, who, Document, document_id, action, options=[joinedload(Document.partner)]
    )


def upsert_document(session: Session, who: Who, data: DocumentIn) -> tuple[Document, bool]:
    """Create the document, or update the one with the same kind and number. The
    partner must be one the user may edit. Returns the row and whether it is new."""
    get_for_user(session, who, Partner, data.partner_id, "view")
    existing = session.scalar(
        select(Document).where(Document.kind == data.kind, Document.number == data.number)
    )
    if existing is not None:
        get_for_user(session, who, Document, existing.id, "edit")
        for name, value in data.model_dump().items():
            setattr(existing, name, value)
        session.flush()
        return existing, False
    if not who.can("documents", "create"):
        raise Invalid({"": _l("You may not add ERP documents.")})
    row = Document(**data.model_dump())
    session.add(row)
    session.flush()
    return row, True


def document_query(
    who: Who, *, partner_id: int | None = None, kind: str | None = None, action: str = "view"
) -> Select[Document]:
    query = select(Document).where(visible(Document, who, action))
    if partner_id is not None:
        query = query.where(Document.partner_id == partner_id)
    if kind:
        query = query.where(Document.kind == kind)
    return query.order_by(Document.date.desc(), Document.id.desc())


class DocumentFilter(Schema):
    """The documents list's query string."""

    kind: Literal["", "offer", "order", "invoice", "delivery_note"] = ""
    status: Literal["", "draft", "open", "closed", "cancelled"] = ""
    partner: str = Field(default="", max_length=100)
    partner_id: OptionalId = None
    date_from: OptionalLocalDate = None
    date_to: OptionalLocalDate = None


def filtered_documents(who: Who, f: DocumentFilter, *, action: str = "view") -> Select[Document]:
    """The documents ``who`` may see (or export) that match the list's filters ``f``."""
    query = document_query(who, partner_id=f.partner_id, kind=f.kind or None, action=action)
    if f.status:
        query = query.where(Document.status == f.status)
    if f.date_from is not None:
        query = query.where(Document.date >= f.date_from)
    if f.date_to is not None:
        query = query.where(Document.date <= f.date_to)
    words = search_text(f.partner)
    if words:
        named = select(Partner.id).where(
            Partner.name_search.like(f"%{escape_like(words)}%", escape="\\")
        )
        query = query.where(Document.partner_id.in_(named))
    return query


def search_rows(session: Session, who: Who, terms: Terms) -> Select[Any]:
    """The ERP documents the header's search finds (``groupware.search``) by the starts
    of the parts of their numbers ("2024-117" finds "R-2024-1170"): id, number, partner."""
    hit: tuple[Any, ...] = (Document.id, Document.number, Partner.name)
    query: Select[Any] = (
        select(*hit).join(Partner, Partner.id == Document.partner_id).where(visible(Document, who))
    )
    return matching(session, DOCUMENTS_WORDS, Document, query, terms)


def latest_documents(session: Session, who: Who, partner_id: int, *, limit: int) -> list[Document]:
    """The partner's newest documents that ``who`` may see."""
    return list(session.scalars(document_query(who, partner_id=partner_id).limit(limit)))


@dataclass(frozen=True)
class YearTotal:
    year: int
    kind: str
    currency: str
    count: int
    net: decimal.Decimal
    gross: decimal.Decimal


def totals_per_year(session: Session, who: Who, partner_id: int) -> list[YearTotal]:
    year = extract("year", Document.date)
    rows = session.execute(
        select(
            year.label("year"),
            Document.kind,
            Document.currency,
            func.count(),
            func.coalesce(func.sum(Document.net_amount), 0),
            func.coalesce(func.sum(Document.gross_amount), 0),
        )
        .where(
            visible(Document, who),
            Document.partner_id == partner_id,
            Document.status != "cancelled",
        )
        .group_by(year, Document.kind, Document.currency)
        .order_by(year.desc(), Document.kind)
    ).all()
    return [
        YearTotal(int(y), kind, currency, int(n), decimal.Decimal(net), decimal.Decimal(gross))
        for y, kind, currency, n, net, gross in rows
    ]


def revenue_by_month(
    session: Session, who: Who, partner_id: int, *, months: int = 24, today: dt.date | None = None
) -> list[tuple[dt.date, decimal.Decimal]]:
    """Invoiced net amount (EUR) per month for the last ``months`` months, oldest first,
    with empty months as zero: what the revenue chart draws."""
    today = today or dt.date.today()
    first = _add_months(today.replace(day=1), -(months - 1))
    year, month = extract("year", Document.date), extract("month", Document.date)
    rows = session.execute(
        select(year, month, func.sum(Document.net_amount))
        .where(
            visible(Document, who),
            Document.partner_id == partner_id,
            Document.kind == "invoice",
            Document.status != "cancelled",
            Document.currency == "EUR",
            Document.date >= first,
        )
        .group_by(year, month)
    ).all()
    sums = {(int(y), int(m)): decimal.Decimal(total or 0) for y, m, total in rows}
    series = []
    for index in range(months):
        start = _add_months(first, index)
        series.append((start, sums.get((start.year, start.month), decimal.Decimal(0))))
    return series


def _add_months(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    return dt.date(total // 12, total % 12 + 1, 1)


def open_items(session: Session, who: Who, partner_id: int, *, limit: int = 50) -> list[Document]:
    """Unpaid invoices and unfinished orders, oldest due first."""
    return list(
        session.scalars(
            select(Document)
            .where(
                visible(Document, who),
                Document.partner_id == partner_id,
                Document.status == "open",
                Document.open_amount != 0,
            )
            .order_by(Document.due_date.is_(None), Document.due_date, Document.date)
            .limit(limit)
        )
    )
