"""The deal reports page and its CSV export (see :mod:`groupware.deals.reports`)."""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import urllib.parse
from collections.abc import Iterator

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from groupware import charts
from groupware.access.policy import require
from groupware.crm.documents import CURRENCIES
from groupware.crm.importing.csvfile import iter_csv
from groupware.deals import queries, reports
from groupware.deals.web import LABELS, MODULE
from groupware.errors import Invalid
from groupware.i18n import _, _l, format_money, format_money_short, format_number, today
from groupware.validation import validate
from groupware.web import Ctx, page

FORECAST = charts.Series(_l("Forecast"), "s1")
WON = charts.Series(_l("Won"), "s2")
INVOICED = charts.Series(_l("Invoiced"), "s3")
AMOUNT = charts.Series(_l("Amount"), "s1")
WEIGHTED = charts.Series(_l("Weighted"), "s2")


def _deals_url(currency: str, **params: str) -> str:
    return "/deals?" + urllib.parse.urlencode({**params, "currency": currency})


def _month_group(
    month: dt.date, sums: list[decimal.Decimal], start: dt.date, end: dt.date, currency: str
) -> charts.Group:
    """A month's bars: forecast and won link to the deals behind them (within the
    period), the invoiced amount has no list of its own."""
    month_end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    first = max(month, start).isoformat()
    last = min(month_end - dt.timedelta(days=1), end).isoformat()
    forecast, won, invoiced = sums
    return charts.Group(
        charts.month_label(month),
        (
            charts.Bar(
                forecast,
                _deals_url(currency, status="open", close_from=first, close_to=last),
                format_money(forecast, currency),
            ),
            charts.Bar(
                won,
                _deals_url(currency, status="won", closed_from=first, closed_to=last),
                format_money(won, currency),
            ),
            charts.Bar(invoiced, "", format_money(invoiced, currency)),
        ),
    )


def forecast_chart(
    rows: list[reports.ForecastRow], start: dt.date, end: dt.date, currency: str
) -> charts.Chart:
    """Forecast, won and invoiced per month of the period (summed over the groups)."""
    months = reports.months_of(start, end)
    sums = {month: [reports.ZERO, reports.ZERO, reports.ZERO] for month in months}
    for row in rows:
        if row.month in sums:
            for index, value in enumerate((row.forecast, row.won, row.invoiced)):
                sums[row.month][index] += value
    return charts.vertical(
        [_month_group(m, sums[m], start, end, currency) for m in months],
        (FORECAST, WON, INVOICED),
        title=_("Forecast, won and invoiced per month (%(currency)s)", currency=currency),
        tick_text=lambda v: format_money_short(v, currency),
        width=640,
        height=300,
        values=False,
    )


def pipeline_charts(
    rows: list[reports.PipelineRow], currency: str
) -> list[tuple[str, charts.Chart]]:
    """The open deals' amount and weighted amount per phase, a chart per type (as the
    dashboard draws them: a row per phase, its name beside it), with the type's name."""
    found = []
    for type_name, phases in itertools.groupby(rows, key=lambda r: r.type):
        groups = [
            charts.Group(
                f"{r.phase or _('Without a phase')} ({format_number(r.count)})",
                (_bar(r.amount, currency), _bar(r.weighted, currency)),
            )
            for r in phases
        ]
        title = _(
            "Open deals of the type %(type)s by phase (%(currency)s)",
            type=type_name,
            currency=currency,
        )
        chart = charts.horizontal(
            groups,
            (AMOUNT, WEIGHTED),
            title=title,
            tick_text=lambda v: format_money_short(v, currency),
            width=560,
            label_width=190,
        )
        found.append((type_name, chart))
    return found


def _bar(value: decimal.Decimal, currency: str) -> charts.Bar:
    return charts.Bar(value, "", format_money(value, currency), format_money_short(value, currency))


def _period(ctx: Ctx) -> reports.Period:
    params = {k: v for k, v in ctx.request.query_params.items() if v}
    return validate(
        reports.Period,
        {k: v for k, v in params.items() if k in ("from", "to", "by", "currency", "campaign_id")},
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
    campaign_id = period.campaign_id
    rows = reports.forecast(
        ctx.db,
        who,
        start,
        end,
        group_by=period.by,
        currency=period.currency,
        campaign_id=campaign_id,
    )
    pipeline = reports.pipeline(ctx.db, who, currency=period.currency, campaign_id=campaign_id)
    return ctx.render(
        "deals/reports.html",
        status_code=422 if errors else 200,
        errors=errors,
        period=period,
        raw=dict(ctx.request.query_params),
        rows=rows,
        totals=reports.totals(rows),
        chart=forecast_chart(rows, start, end, period.currency),
        pipeline=pipeline,
        pipeline_charts=pipeline_charts(pipeline, period.currency),
        month_label=charts.month_label,
        rates=reports.win_rate(ctx.db, who, start, end, group_by="owner", campaign_id=campaign_id),
        cycle=reports.cycle_time(ctx.db, who, start, end, campaign_id=campaign_id),
        overdue=reports.overdue(ctx.db, who, today(), limit=50, campaign_id=campaign_id),
        campaign_options=queries.campaign_choices(ctx.db, who, every=True),
        today=today(),
        labels=LABELS,
        currencies=CURRENCIES,
        by_options=[
            ("none", _("month only")),
            ("owner", _("rep")),
            ("type", _("type")),
            ("source", _("source")),
            ("campaign", _("campaign")),
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
        ctx.db,
        ctx.acting,
        start,
        end,
        group_by=period.by,
        currency=period.currency,
        campaign_id=period.campaign_id,
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
