"""A campaign's results on the web: its targets by status and responses against the
goal, what happened per phase and per week (a chart and a table each), and the same
as CSV. The deals' totals and the figures per rep come from ``service.results``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from groupware import charts
from groupware.campaigns import results, service
from groupware.campaigns.models import TARGET_STATUS_LABELS, Campaign
from groupware.crm.importing.csvfile import iter_csv
from groupware.i18n import _, _l, format_number
from groupware.phases.models import Phase
from groupware.web import Ctx, page

RESPONSES = charts.Series(_l("Responses"), "s1")
OPENED = charts.Series(_l("Deals opened"), "s2")
WON = charts.Series(_l("Won"), "s3")


def _count(value: int) -> charts.Bar:
    return charts.Bar(value, "", format_number(value), format_number(value))


def _chart(periods: list[results.Period], title: str, *, values: bool) -> charts.Chart:
    groups = [
        charts.Group(p.label, (_count(p.responses), _count(p.opened), _count(p.won)))
        for p in periods
    ]
    return charts.vertical(
        groups, (RESPONSES, OPENED, WON), title=title, width=640, height=260, values=values
    )


def _status_chart(found: results.TargetResults, campaign: Campaign) -> charts.Chart:
    link = f"/campaigns/targets?campaign_id={campaign.id}&status="
    groups = [
        charts.Group(str(label), (charts.Bar(found.statuses[key], link + key,
                                             format_number(found.statuses[key]),
                                             format_number(found.statuses[key])),), link + key)
        for key, label in TARGET_STATUS_LABELS.items()
    ]  # fmt: skip
    return charts.horizontal(
        groups,
        (charts.Series(_l("Targets"), "s1"),),
        title=_("Targets by status"),
        width=560,
        label_width=150,
    )


def context(ctx: Ctx, campaign: Campaign, phases: Sequence[Phase]) -> dict[str, Any]:
    """What the campaign's page shows of its results (``phases``: the campaign's, which
    the page has read for its timeline)."""
    by_day = results.days(ctx.db, ctx.acting, campaign)
    by_phase = results.phases(ctx.db, campaign, by_day, phases)
    by_week = results.weeks(campaign, by_day)
    found = results.target_results(ctx.db, ctx.acting, campaign)
    return {
        "results": service.results(ctx.db, ctx.acting, campaign),
        "target_results": found,
        "status_chart": _status_chart(found, campaign) if found.total else None,
        "by_phase": by_phase,
        "by_week": by_week,
        "phase_chart": _chart(by_phase, _("Per phase"), values=True) if by_phase else None,
        "week_chart": _chart(by_week, _("Per week"), values=False),
    }


@page()
def campaign_results_csv(ctx: Ctx) -> Response:
    campaign = service.get_campaign_for_user(ctx.db, ctx.acting, ctx.int_param("campaign_id"))
    by_day = results.days(ctx.db, ctx.acting, campaign)
    head = [_("Period"), _("Name"), _("From"), _("Until"), _("Responses"), _("Deals opened"),
            _("Won"), _("Lost"), _("Revenue won"), _("Currency")]  # fmt: skip
    rows = list(
        results.csv_rows(
            campaign,
            results.phases(ctx.db, campaign, by_day),
            results.weeks(campaign, by_day),
            head,
        )
    )
    kinds = {"phase": _("phase"), "week": _("week")}
    for row in rows[1:]:
        row[0] = kinds[row[0]]
    name = f"campaign-{campaign.id}-results.csv"
    return StreamingResponse(
        iter_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


routes = [
    Route(
        "/campaigns/{campaign_id:int}/results.csv",
        campaign_results_csv,
        name="campaign_results_csv",
    )
]
