"""The deals list's declaration (groupware.deals.lists): its default view, its totals
row and its columns, through the real server."""

from __future__ import annotations

import datetime as dt
import re

from groupware.i18n import today
from tests.conftest import LoginAs
from tests.lists.conftest import Shop, live_shop

__all__ = ["live_shop"]  # a fixture used here


def titles(html: str) -> list[str]:
    return re.findall(r'href="/deals/\d+">([^<]+)<', html)


def test_the_deals_list_opens_on_open_deals_by_expected_close(
    live_shop: Shop, login_as: LoginAs
) -> None:
    alice = login_as("alice")
    page = alice.get("/deals").text
    assert titles(page) == ["Vage", "Police", "Blagajne"]  # not the won one, not bob's
    assert 'aria-sort="ascending" data-column="expected_close"' in page
    # Any status: every deal of hers, the won one too.
    assert titles(alice.get("/deals?status=").text) == ["Stari posao", "Vage", "Police", "Blagajne"]
    assert titles(alice.get("/deals?status=won").text) == ["Stari posao"]


def test_the_totals_row_sums_and_weighs_per_currency(live_shop: Shop, login_as: LoginAs) -> None:
    page = login_as("alice").get("/deals").text
    totals = re.search(r'<tr data-testid="totals">(.*?)</tr>', page, re.S)
    assert totals is not None
    cells = dict(re.findall(r'data-total="(\w+)">(.*?)</td>', totals[1], re.S))
    assert cells["amount"] == "€1,200.00<br>US$300.00"
    assert cells["weighted"] == "€520.00<br>US$120.00"
    root = login_as("root").get("/deals").text  # bob's 5,000 counts for those who see it
    assert "6.200,00\xa0€" in root  # root reads Croatian


def test_a_late_deal_says_how_late_and_a_closed_one_does_not(
    live_shop: Shop, login_as: LoginAs
) -> None:
    page = login_as("alice").get("/deals?status=").text
    rows = {
        title: row for row in re.findall(r"<tr[^>]*>.*?</tr>", page, re.S) for title in titles(row)
    }
    # Vage: its phase Qualify was planned to end on 10 January (started on 5 January, five
    # days), before its expected close on 1 March; the earlier counts
    days = (today() - dt.date(2026, 1, 10)).days
    assert days > 3  # past the alert job's grace days: the chip is escalated
    assert rows["Vage"].startswith('<tr class="late"')
    phase = re.search(r'<td data-label="Phase">(.*?)</td>', rows["Vage"], re.S)
    assert phase is not None and 'class="chip overdue escalated"' in phase[1]
    assert f"{days} days late" in phase[1]
    assert "overdue" not in rows["Stari posao"] and 'class="late"' not in rows["Stari posao"]
