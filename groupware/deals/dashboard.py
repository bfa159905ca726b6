"""The deal figures of the dashboard: the scope's open deals by phase with their value
and weighted value, and forecast against realised sales this month and this quarter.

Forecast and realised are counted as the deal reports count them
(:mod:`groupware.deals.reports`): the forecast of a period is the weighted value
(amount × probability) of the open sales expected to close in it, the realised amount
that of the sales won in it. Amounts are in euros; deals in another currency are not
converted, and the lists behind the figures are limited to euros too.
"""

from __future__ import annotations

import datetime as dt
import decimal
import urllib.parse
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal_column, select

from groupware import charts
from groupware.access.policy import visible
from groupware.dashboard import Widget, WidgetArgs
from groupware.db import cents
from groupware.deals.models import Deal
from groupware.deals.reports import HUNDRED
from groupware.i18n import _, _l, format_money, format_money_short, format_number
from groupware.phases.models import ProcessType

CURRENCY = "EUR"
VALUE = charts.Series(_l("Value"), "s1")
WEIGHTED = charts.Series(_l("Weighted value"), "s2")
FORECAST = charts.Series(_l("Forecast (weighted)"), "s2")
REALISED = charts.Series(_l("Realised (won)"), "s3")


def _in_scope(args: WidgetArgs) -> list[ColumnElement[bool]]:
    return [
        visible(Deal, args.who, whole=True),
        args.scope.owned(Deal.owner_id),
        Deal.currency == CURRENCY,
    ]


def list_url(args: WidgetArgs, **params: Any) -> str:
    """The deals list with the scope's deals and ``params``."""
    scope = args.scope
    if scope.kind == "own":
        params = {"owner_id": scope.user_id, **params}
    elif scope.kind == "team":
        params = {"team_id": scope.team_id, **params}
    return "/deals?" + urllib.parse.urlencode({**params, "currency": CURRENCY})


# -- open deals by phase --------------------------------------------------------------


# count, value and weighted value of some open deals
Figures = tuple[int, decimal.Decimal, decimal.Decimal]
NONE: Figures = (0, decimal.Decimal(0), decimal.Decimal(0))


@dataclass(frozen=True)
class PhaseRow:
    name: str
    count: int
    amount: decimal.Decimal
    weighted: decimal.Decimal
    href: str


@dataclass(frozen=True)
class TypePipeline:
    """The open deals of one type, a row per step of its template."""

    name: str
    rows: list[PhaseRow]
    chart: charts.Chart
    href: str

    @property
    def count(self) -> int:
        return sum(r.count for r in self.rows)

    @property
    def amount(self) -> decimal.Decimal:
        return sum((r.amount for r in self.rows), decimal.Decimal(0))

    @property
    def weighted(self) -> decimal.Decimal:
        return sum((r.weighted for r in self.rows), decimal.Decimal(0))


def open_by_phase(args: WidgetArgs) -> dict[int, dict[int | None, Figures]]:
    """type id -> step id -> (count, value, weighted value) of the scope's open deals."""
    weighted = func.sum(Deal.amount * Deal.probability / HUNDRED)
    rows = args.session.execute(
        select(Deal.type_id, Deal.step_id, func.count(), func.sum(Deal.amount), weighted)
        .where(Deal.status == "open", *_in_scope(args))
        .group_by(Deal.type_id, Deal.step_id)
    )
    found: dict[int, dict[int | None, Figures]] = {}
    for type_id, step_id, count, amount, weight in rows:
        found.setdefault(type_id, {})[step_id] = (int(count), cents(amount), cents(weight))
    return found


def _bar(value: decimal.Decimal, href: str) -> charts.Bar:
    return charts.Bar(
        value, href, format_money(value, CURRENCY), format_money_short(value, CURRENCY)
    )


def _pipeline_chart(name: str, rows: list[PhaseRow]) -> charts.Chart:
    groups = [
        charts.Group(
            f"{r.name} ({format_number(r.count)})",
            (_bar(r.amount, r.href), _bar(r.weighted, r.href)),
            r.href,
        )
        for r in rows
    ]
    return charts.horizontal(
        groups,
        (VALUE, WEIGHTED),
        title=_("Open deals of the type %(type)s by phase", type=name),
        tick_text=lambda v: format_money_short(v, CURRENCY),
    )


def _by_known_step(
    type_: ProcessType, by_step: dict[int | None, Figures]
) -> dict[int | None, Figures]:
    """The figures of ``type_``'s steps; those of deals in no step of its template now
    (a step since dropped) added up under None."""
    known = {step.id for step in type_.phases}
    found: dict[int | None, Figures] = {}
    for step_id, figures in by_step.items():
        key = step_id if step_id in known else None
        had = found.get(key, NONE)
        found[key] = (had[0] + figures[0], had[1] + figures[1], had[2] + figures[2])
    return found


def _type_pipeline(
    args: WidgetArgs, type_: ProcessType, by_step: dict[int | None, Figures]
) -> TypePipeline:
    figures = _by_known_step(type_, by_step)
    steps: list[tuple[int | None, str]] = [(step.id, step.name) for step in type_.phases]
    if None in figures:
        steps.append((None, _("Without a phase")))
    rows = []
    for step_id, label in steps:
        count, amount, weighted = figures.get(step_id, NONE)
        step = {"step_id": step_id} if step_id is not None else {}
        href = list_url(args, status="open", type_id=type_.id, **step)
        rows.append(PhaseRow(label, count, amount, weighted, href))
    href = list_url(args, status="open", type_id=type_.id)
    return TypePipeline(type_.name, rows, _pipeline_chart(type_.name, rows), href)


def pipeline_figures(args: WidgetArgs) -> dict[str, Any]:
    counted = open_by_phase(args)
    types = args.session.scalars(
        select(ProcessType).where(ProcessType.id.in_(list(counted))).order_by(ProcessType.name)
    )
    return {
        "pipelines": [_type_pipeline(args, t, counted[t.id]) for t in types],
        "all_url": list_url(args, status="open"),
        "currency": CURRENCY,
    }


# -- forecast against realised --------------------------------------------------------


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date
    forecast: decimal.Decimal
    realised: decimal.Decimal
    forecast_url: str
    realised_url: str


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    start = day.replace(day=1)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following - dt.timedelta(days=1)


def quarter_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first_month = 3 * ((day.month - 1) // 3) + 1
    start = dt.date(day.year, first_month, 1)
    return start, month_of(dt.date(day.year, first_month + 2, 1))[1]


Span = tuple[dt.date, dt.date]


def _sums(
    args: WidgetArgs, status: str, amount: Any, day: Any, month: Span, quarter: Span
) -> tuple[decimal.Decimal, decimal.Decimal]:
    """``amount`` summed over the scope's sales of ``status`` whose ``day`` falls in the
    month and in the quarter: one pass over the quarter's deals for both."""
    in_month = case((day.between(*month), amount), else_=literal_column("0"))
    query = select(func.sum(in_month), func.sum(amount)).where(
        Deal.status == status, Deal.direction == "sale", day.between(*quarter), *_in_scope(args)
    )
    month_sum, quarter_sum = args.session.execute(query).one()
    return cents(month_sum), cents(quarter_sum)


def forecast_of(args: WidgetArgs, month: Span, quarter: Span) -> tuple[decimal.Decimal, ...]:
    """The weighted value of the scope's open sales expected to close in the month and
    in the quarter."""
    weighted = Deal.amount * Deal.probability / HUNDRED
    return _sums(args, "open", weighted, Deal.expected_close, month, quarter)


def realised_of(args: WidgetArgs, month: Span, quarter: Span) -> tuple[decimal.Decimal, ...]:
    """The value of the scope's sales won in the month and in the quarter."""
    return _sums(args, "won", Deal.amount, Deal.closed_on, month, quarter)


def _period(
    args: WidgetArgs, label: str, span: Span, forecast: decimal.Decimal, realised: decimal.Decimal
) -> Period:
    start, end = (day.isoformat() for day in span)
    sale = {"direction": "sale"}
    return Period(
        label,
        *span,
        forecast,
        realised,
        list_url(args, status="open", **sale, close_from=start, close_to=end),
        list_url(args, status="won", **sale, closed_from=start, closed_to=end),
    )


def forecast_figures(args: WidgetArgs) -> dict[str, Any]:
    month, quarter = month_of(args.today), quarter_of(args.today)
    number = (quarter[0].month + 2) // 3
    forecast, realised = forecast_of(args, month, quarter), realised_of(args, month, quarter)
    quarter_label = _("Q%(number)d %(year)d", number=number, year=quarter[0].year)
    periods = [
        _period(args, charts.month_label(month[0], long=True), month, forecast[0], realised[0]),
        _period(args, quarter_label, quarter, forecast[1], realised[1]),
    ]
    groups = [
        charts.Group(p.label, (_bar(p.forecast, p.forecast_url), _bar(p.realised, p.realised_url)))
        for p in periods
    ]
    chart = charts.vertical(
        groups,
        (FORECAST, REALISED),
        title=_("Forecast and realised sales, this month and this quarter"),
        tick_text=lambda v: format_money_short(v, CURRENCY),
    )
    return {"periods": periods, "chart": chart, "currency": CURRENCY}


PIPELINE_WIDGET = Widget(
    "deals-pipeline",
    _l("Open deals by phase"),
    "deals/_widget_pipeline.html",
    pipeline_figures,
    order=10,
    module="deals",
    scoped=True,
    wide=True,
)
FORECAST_WIDGET = Widget(
    "deals-forecast",
    _l("Forecast and realised"),
    "deals/_widget_forecast.html",
    forecast_figures,
    order=20,
    module="deals",
    scoped=True,
)
