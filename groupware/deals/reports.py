"""Reports over deals, each computed in SQL and limited to what the user may see.

- forecast against realised, per month of a period and per rep, type or source:
  forecast is the open deals' amount × probability by expected close month; realised is
  the won deals' amount by close month and the invoiced net amount (invoices not
  cancelled, by their date; an invoice linked to a deal counts under that deal's rep,
  type and source, others under the partner's rep);
- the pipeline: open deals per type and current phase (count, amount, weighted);
- win rate: won against won + lost among deals closed in the period;
- cycle time: average days from start to close of won deals, per type;
- overdue: open deals whose phase or expected close date has passed.

Amounts are reported in one currency at a time (deals and invoices in another currency
are not converted).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, visible
from groupware.accounts.models import User
from groupware.crm.documents import CURRENCIES
from groupware.crm.models import Document, Partner
from groupware.db import cents
from groupware.deals.models import CAMPAIGNS, Deal
from groupware.i18n import _l, today
from groupware.phases.models import ProcessType, TypePhase
from groupware.validation import OptionalId, OptionalLocalDate, Schema, fail

GroupBy = Literal["none", "owner", "type", "source", "campaign"]
ZERO = decimal.Decimal(0)
# A decimal divisor: SQLite would divide two integers as integers.
HUNDRED: ColumnElement[Any] = literal_column("100.0")


MAX_DAYS = 5 * 366


class Period(Schema):
    start: OptionalLocalDate = Field(default=None, alias="from")
    end: OptionalLocalDate = Field(default=None, alias="to")
    by: Literal["none", "owner", "type", "source", "campaign"] = "none"
    currency: str = "EUR"
    # One campaign's deals only (and the invoices of its deals).
    campaign_id: OptionalId = None

    @model_validator(mode="after")
    def _check(self) -> Period:
        year = today().year
        self.start = self.start or dt.date(year, 1, 1)
        self.end = self.end or dt.date(year, 12, 31)
        if self.end < self.start:
            raise fail(_l("The period ends before it starts."))
        if (self.end - self.start).days > MAX_DAYS:
            raise fail(_l("Choose a period of five years at most."))
        self.currency = self.currency.upper()
        if self.currency not in CURRENCIES:
            raise fail(_l("Unknown currency."))
        return self

    @property
    def span(self) -> tuple[dt.date, dt.date]:
        assert self.start is not None and self.end is not None
        return self.start, self.end


@dataclass
class ForecastRow:
    month: dt.date
    key: str  # the rep's, type's or source's name; "" when not grouped
    forecast: decimal.Decimal = ZERO
    won: decimal.Decimal = ZERO
    invoiced: decimal.Decimal = ZERO


@dataclass(frozen=True)
class PipelineRow:
    type: str
    position: int
    phase: str
    count: int
    amount: decimal.Decimal
    weighted: decimal.Decimal


@dataclass(frozen=True)
class RateRow:
    key: str
    won: int
    lost: int

    @property
    def rate(self) -> float | None:
        closed = self.won + self.lost
        return self.won / closed if closed else None


@dataclass(frozen=True)
class CycleRow:
    type: str
    deals: int
    average_days: float


def months_of(start: dt.date, end: dt.date) -> list[dt.date]:
    """The first days of the months from ``start`` to ``end``."""
    months, day = [], start.replace(day=1)
    while day <= end:
        months.append(day)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def _seen(who: Who, campaign_id: int | None) -> tuple[ColumnElement[bool], ...]:
    """The deals a report counts: those ``who`` may see, of one campaign when given."""
    if campaign_id is None:
        return (visible(Deal, who, whole=True),)
    return (visible(Deal, who, whole=True), Deal.campaign_id == campaign_id)


def _group_column(group_by: GroupBy) -> Any:
    if group_by == "owner":
        return func.coalesce(User.full_name, literal(""))
    if group_by == "type":
        return ProcessType.name
    if group_by == "source":
        return Deal.source
    if group_by == "campaign":
        return func.coalesce(CAMPAIGNS.c.name, literal(""))
    return literal("")


def _grouped(query: Select[Any], group_by: GroupBy) -> Select[Any]:
    if group_by == "owner":
        return query.outerjoin(User, User.id == Deal.owner_id)
    if group_by == "type":
        return query.join(ProcessType, ProcessType.id == Deal.type_id)
    if group_by == "campaign":
        return query.outerjoin(CAMPAIGNS, CAMPAIGNS.c.id == Deal.campaign_id)
    return query


def forecast(
    session: Session,
    who: Who,
    start: dt.date,
    end: dt.date,
    *,
    group_by: GroupBy = "none",
    currency: str = "EUR",
    campaign_id: int | None = None,
) -> list[ForecastRow]:
    key = _group_column(group_by)
    rows: dict[tuple[dt.date, str], ForecastRow] = {}

    def add(month_year: Any, month: Any, name: Any, field: str, amount: Any) -> None:
        month_day = dt.date(int(month_year), int(month), 1)
        row = rows.setdefault((month_day, name or ""), ForecastRow(month_day, name or ""))
        setattr(row, field, getattr(row, field) + cents(amount))

    close_year, close_month = (
        extract("year", Deal.expected_close),
        extract("month", Deal.expected_close),
    )
    weighted = func.sum(Deal.amount * Deal.probability / HUNDRED)
    open_deals = _grouped(
        select(close_year, close_month, key, weighted).where(
            *_seen(who, campaign_id),
            Deal.status == "open",
            Deal.currency == currency,
            Deal.expected_close.between(start, end),
        ),
        group_by,
    ).group_by(close_year, close_month, key)
    for year, month, name, amount in session.execute(open_deals):
        add(year, month, name, "forecast", amount)

    won_year, won_month = extract("year", Deal.closed_on), extract("month", Deal.closed_on)
    won = _grouped(
        select(won_year, won_month, key, func.sum(Deal.amount)).where(
            *_seen(who, campaign_id),
            Deal.status == "won",
            Deal.currency == currency,
            Deal.closed_on.between(start, end),
        ),
        group_by,
    ).group_by(won_year, won_month, key)
    for year, month, name, amount in session.execute(won):
        add(year, month, name, "won", amount)

    for year, month, name, amount in session.execute(
        _invoiced(who, start, end, group_by, currency, campaign_id)
    ):
        add(year, month, name, "invoiced", amount)
    return sorted(rows.values(), key=lambda r: (r.month, r.key))


def _invoiced(
    who: Who,
    start: dt.date,
    end: dt.date,
    group_by: GroupBy,
    currency: str,
    campaign_id: int | None = None,
) -> Select[Any]:
    year, month = extract("year", Document.date), extract("month", Document.date)
    query = (
        select(Document)
        .outerjoin(Deal, Deal.id == Document.deal_id)
        .where(
            visible(Document, who, whole=True),
            Document.kind == "invoice",
            Document.status != "cancelled",
            Document.currency == currency,
            Document.date.between(start, end),
        )
    )
    if campaign_id is not None:  # a campaign's: the invoices of its deals
        query = query.where(Deal.campaign_id == campaign_id)
    if group_by == "owner":
        owner = func.coalesce(Deal.owner_id, Partner.owner_id)
        key: Any = func.coalesce(User.full_name, literal(""))
        query = query.join(Partner, Partner.id == Document.partner_id).outerjoin(
            User, User.id == owner
        )
    elif group_by == "type":
        key = func.coalesce(ProcessType.name, literal(""))
        query = query.outerjoin(ProcessType, ProcessType.id == Deal.type_id)
    elif group_by == "source":
        key = func.coalesce(Deal.source, literal(""))
    elif group_by == "campaign":
        key = func.coalesce(CAMPAIGNS.c.name, literal(""))
        query = query.outerjoin(CAMPAIGNS, CAMPAIGNS.c.id == Deal.campaign_id)
    else:
        key = literal("")
    return query.with_only_columns(year, month, key, func.sum(Document.net_amount)).group_by(
        year, month, key
    )


def pipeline(
    session: Session, who: Who, *, currency: str = "EUR", campaign_id: int | None = None
) -> list[PipelineRow]:
    weighted = func.sum(Deal.amount * Deal.probability / HUNDRED)
    counted = (
        select(Deal.type_id, Deal.step_id, func.count(), func.sum(Deal.amount), weighted)
        .where(*_seen(who, campaign_id), Deal.status == "open", Deal.currency == currency)
        .group_by(Deal.type_id, Deal.step_id)
        .subquery()
    )
    position = func.coalesce(TypePhase.position, 999)  # a step since dropped: last
    rows = session.execute(
        select(ProcessType.name, position, func.coalesce(TypePhase.name, literal("")))
        .add_columns(*counted.c[2:])
        .select_from(counted)
        .join(ProcessType, ProcessType.id == counted.c.type_id)
        .outerjoin(TypePhase, TypePhase.id == counted.c.step_id)
        .order_by(ProcessType.name, position)
    )
    return [PipelineRow(t, p, n, c, cents(a), cents(w)) for t, p, n, c, a, w in rows]


def win_rate(
    session: Session,
    who: Who,
    start: dt.date,
    end: dt.date,
    *,
    group_by: GroupBy = "owner",
    campaign_id: int | None = None,
) -> list[RateRow]:
    key = _group_column(group_by)
    won = func.sum(case((Deal.status == "won", 1), else_=0))
    lost = func.sum(case((Deal.status == "lost", 1), else_=0))
    rows = session.execute(
        _grouped(
            select(key, won, lost).where(
                *_seen(who, campaign_id),
                Deal.status.in_(("won", "lost")),
                Deal.closed_on.between(start, end),
            ),
            group_by,
        ).group_by(key)
    )
    return sorted((RateRow(k or "", int(w), int(lo)) for k, w, lo in rows), key=lambda r: r.key)


def _days_between(session: Session, first: Any, last: Any) -> ColumnElement[Any]:
    days: ColumnElement[Any]
    if session.get_bind().dialect.name == "sqlite":
        days = func.julianday(last) - func.julianday(first)
    else:
        days = last - first  # PostgreSQL: date - date is a number of days
    return days


def cycle_time(
    session: Session, who: Who, start: dt.date, end: dt.date, *, campaign_id: int | None = None
) -> list[CycleRow]:
    days = _days_between(session, Deal.started_on, Deal.closed_on)
    rows = session.execute(
        select(ProcessType.name, func.count(), func.avg(days))
        .join(ProcessType, ProcessType.id == Deal.type_id)
        .where(*_seen(who, campaign_id), Deal.status == "won", Deal.closed_on.between(start, end))
        .group_by(ProcessType.name)
        .order_by(ProcessType.name)
    )
    return [CycleRow(t, int(n), round(float(avg or 0), 1)) for t, n, avg in rows]


def overdue(
    session: Session, who: Who, today: dt.date, *, limit: int = 200, campaign_id: int | None = None
) -> Sequence[Deal]:
    late = or_(Deal.phase_due < today, Deal.expected_close < today)
    return list(
        session.scalars(
            select(Deal)
            .where(*_seen(who, campaign_id), and_(Deal.status == "open", late))
            .options(joinedload(Deal.partner), joinedload(Deal.owner), joinedload(Deal.phase))
            .order_by(func.coalesce(Deal.phase_due, Deal.expected_close), Deal.id)
            .limit(limit)
        )
    )


def totals(rows: Sequence[ForecastRow]) -> dict[str, decimal.Decimal]:
    result: dict[str, decimal.Decimal] = defaultdict(lambda: ZERO)
    for row in rows:
        result["forecast"] += row.forecast
        result["won"] += row.won
        result["invoiced"] += row.invoiced
    return dict(result)
