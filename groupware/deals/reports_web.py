"""The deal reports page and its CSV export (see :mod:`groupware.deals.reports`)."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from dataclasses import dataclass

from babel import dates as babel_dates
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from groupware.access.policy import require
from groupware.crm.documents import CURRENCIES
from groupware.crm.importing.csvfile import iter_csv
from groupware.deals import reports
from groupware.deals.web import LABELS, MODULE
from groupware.errors import Invalid
from groupware.i18n import _, current_language, format_number, today
from groupware.validation import validate
from groupware.web import Ctx, page


@dataclass(frozen=True)
class MonthBars:
    label: str
    x: float
    forecast: tuple[float, float]  # y, height
    realised: tuple[float, float]


@dataclass(frozen=True)
class Chart:
    """Forecast against realised (won deals) per month, drawn as inline SVG."""

    months: list[MonthBars]
    top: decimal.Decimal
    bar_width: float
    width: int = 640
    height: int = 260
    plot_top: int = 30
    plot_bottom: int = 220


def chart(rows: list[reports.ForecastRow], start: dt.date, end: dt.date) -> Chart:
    sums: dict[dt.date, list[decimal.Decimal]] = {}
    for row in rows:
        pair = sums.setdefault(row.month, [reports.ZERO, reports.ZERO])
        pair[0] += row.forecast
        pair[1] += row.won
    months = reports.months_of(start, end)
    top = max([decimal.Decimal(1), *(v for pair in sums.values() for v in pair)])
    base = Chart([], top, 0)
    plot = base.plot_bottom - base.plot_top
    step = base.width / max(len(months), 1)
    locale = "hr_HR" if current_language() == "hr" else "en_GB"

    def bar(value: decimal.Decimal) -> tuple[float, float]:
        height = round(plot * float(value) / float(top), 1)
        return round(base.plot_bottom - height, 1), height

    bars = []
    for index, month in enumerate(months):
        forecast, won = sums.get(month, [reports.ZERO, reports.ZERO])
        bars.append(
            MonthBars(
                label=babel_dates.format_date(month, "LLL yy", locale=locale),
                x=round(index * step + step * 0.1, 1),
                forecast=bar(forecast),
                realised=bar(won),
            )
        )
    return Chart(bars, top, round(step * 0.4, 1))


def _period(ctx: Ctx) -> reports.Period:
    params = {k: v for k, v in ctx.request.query_params.items() if v}
    return validate(
        reports.Period, {k: v for k, v in params.items() if k in ("from", "to", "by", "currency")}
    )


@page()
def deal_reports(ctx: Ctx) -> Response:
    require(ctx.acting, MODULE, "view")
    try:
        period = _period(ctx)
        errors: dict[str, str] = {}
    except Invalid as exc:
        period, errors = validate(reports.Period, {}), exc.errors
    start, end = period.span
    who = ctx.acting
    rows = reports.forecast(ctx.db, who, start, end, group_by=period.by, currency=period.currency)
    return ctx.render(
        "deals/reports.html",
        status_code=422 if errors else 200,
        errors=errors,
        period=period,
        raw=dict(ctx.request.query_params),
        rows=rows,
        totals=reports.totals(rows),
        chart=chart(rows, start, end),
        pipeline=reports.pipeline(ctx.db, who, currency=period.currency),
        rates=reports.win_rate(ctx.db, who, start, end, group_by="owner"),
        cycle=reports.cycle_time(ctx.db, who, start, end),
        overdue=reports.overdue(ctx.db, who, today(), limit=50),
        today=today(),
        labels=LABELS,
        currencies=CURRENCIES,
        by_options=[
            ("none", _("month only")),
            ("owner", _("rep")),
            ("type", _("type")),
            ("source", _("source")),
        ],
    )


def _csv_rows(rows: list[reports.ForecastRow], by: str) -> Iterator[list[str]]:
    yield [_("Month"), _("Group") if by != "none" else "", _("Forecast"), _("Won"), _("Invoiced")]
    for row in rows:
        yield [
            row.month.strftime("%Y-%m"),
            str(LABELS["source"].get(row.key, row.key)) if by == "source" else row.key,
            format_number(row.forecast, 2),
            format_number(row.won, 2),
            format_number(row.invoiced, 2),
        ]


@page()
def deal_reports_csv(ctx: Ctx) -> Response:
    require(ctx.acting, MODULE, "export")
    period = _period(ctx)
    start, end = period.span
    rows = reports.forecast(
        ctx.db, ctx.acting, start, end, group_by=period.by, currency=period.currency
    )
    name = f"forecast-{start.isoformat()}-{end.isoformat()}.csv"
    return StreamingResponse(
        iter_csv(list(_csv_rows(rows, period.by))),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


routes = [
    Route("/deals/reports", deal_reports, name="deal_reports"),
    Route("/deals/reports/forecast.csv", deal_reports_csv, name="deal_reports_csv"),
]
