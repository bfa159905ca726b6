"""The deal reports page: charts with their legends and axes, every series in the table
beside them, months written the reader's way."""

from __future__ import annotations

import html
import re

from tests.conftest import LoginAs
from tests.lists.conftest import Shop, live_shop

__all__ = ["live_shop"]  # a fixture used here


def test_the_reports_speak_croatian_months_with_charts_and_their_tables(
    live_shop: Shop, login_as: LoginAs
) -> None:
    root = login_as("root")  # reads Croatian
    page = root.get("/deals/reports", params={"from": "2026-01-01", "to": "2026-06-30"}).text
    chart = page[page.index('data-testid="forecast-chart"') :]
    chart = chart[: chart.index("</svg>")]
    # The chart: a legend naming the three series, an axis, a label per month.
    assert re.findall(r'<g class="legend">.*?</g>', chart, re.S)
    for series in ("Prognoza", "Dobiveno", "Fakturirano"):
        assert f">{series}</text>" in chart
    assert 'class="grid"' in chart and 'class="tick"' in chart
    for month in ("sij 2026", "velj 2026", "ožu 2026", "tra 2026", "svi 2026", "lip 2026"):
        assert f">{month}</text>" in chart
    # Its table beside it: every series, months in words.
    table = page[page.index('data-testid="forecast"') :]
    table = table[: table.index("</table>")]
    assert "veljača 2026" in table and "svibanj 2026" in table  # won in Feb, Blagajne in May
    assert "700,00" in table and "500,00" in table
    # A month's won bar leads to the deals won that month, its forecast bar to the open
    # ones expected to close then (within the period); the invoiced bar has no list.
    won = re.search(r'<a href="([^"]*status=won[^"]*2026-02-01[^"]*)" class="bar-link"', chart)
    assert won is not None
    won_href = html.unescape(won.group(1))
    assert "closed_to=2026-02-28" in won_href and "currency=EUR" in won_href
    listed = root.get(won_href).text
    assert "Stari posao" in listed and "Blagajne" not in listed
    may = re.search(r'<a href="([^"]*status=open[^"]*close_from=2026-05-01[^"]*)"', chart)
    assert may is not None and "Blagajne" in root.get(html.unescape(may.group(1))).text
    # nothing is drawn (nor linked) for nothing: forecast in March and May, won in February
    assert chart.count('class="bar-link"') == 3
    # the pipeline: a chart per type, a row per phase
    assert 'data-testid="pipeline-chart"' in page and 'data-testid="pipeline-chart-1"' in page
    assert "style=" not in page and "<script>" not in page  # the CSP allows neither
