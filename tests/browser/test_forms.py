"""Headless Chromium on the deal form: a Croatian user types ``12.500,50`` and sees it
saved and shown back the Croatian way, and the type list follows the direction at once."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from groupware.db import Database
from groupware.deals.models import Deal
from tests.browser.test_shell import _log_in, chromium
from tests.conftest import LiveServer
from tests.crm.conftest import api, sales
from tests.deals.test_deal_form_web import kinds, speaks

__all__ = ["api", "chromium", "kinds", "sales"]  # fixtures used here
pytestmark = pytest.mark.browser
DEAL_PAGE = re.compile(r"/deals/\d+$")


def _watch_console(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_a_croatian_amount_is_typed_saved_and_shown_back(
    chromium: Browser, live: LiveServer, kinds: dict[str, int], database: Database
) -> None:
    speaks(database, "alice", "hr")
    context = chromium.new_context(locale="hr-HR")
    page = context.new_page()
    errors = _watch_console(page)
    _log_in(page, live, "alice")
    page.goto(f"{live.url}/deals/new?partner_id={kinds['partner']}")
    page.fill("#f-title", "Blagajne")
    page.select_option("#f-type_id", label="Maloprodaja")
    page.fill("#f-amount", "12.500,50")
    page.get_by_role("button", name="Spremi").click()
    expect(page).to_have_url(DEAL_PAGE)
    expect(page.get_by_text(re.compile(r"12\.500,50\s€")).first).to_be_visible()
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        deal = session.scalars(select(Deal)).one()
        assert str(deal.amount) == "12500.50"
    page.goto(f"{live.url}/deals/{deal.id}/edit")
    expect(page.locator("#f-amount")).to_have_value("12.500,50")
    page.fill("#f-amount", "13 000,5")
    page.get_by_role("button", name="Spremi").click()
    expect(page).to_have_url(DEAL_PAGE)
    expect(page.get_by_text(re.compile(r"13\.000,50\s€")).first).to_be_visible()
    assert errors == []
    context.close()


def test_the_type_list_follows_the_chosen_direction(
    chromium: Browser, live: LiveServer, kinds: dict[str, int], database: Database
) -> None:
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    errors = _watch_console(page)
    _log_in(page, live, "alice")
    page.goto(f"{live.url}/partners/{kinds['partner']}")
    page.get_by_test_id("quick-actions").get_by_role("link", name="New deal").click()  # boosted
    expect(page.locator("h1")).to_have_text("New deal")
    offered = page.locator("#f-type_id option:not([hidden]):not([disabled])")
    expect(offered).to_have_text(["— choose —", "Maloprodaja", "Servis"])
    page.select_option("#f-type_id", label="Maloprodaja")
    page.select_option("#f-direction", "purchase")
    expect(offered).to_have_text(["— choose —", "Nabava", "Servis"])
    expect(page.locator("#f-type_id")).to_have_value("")  # the sale type is unchosen
    page.select_option("#f-type_id", label="Nabava")
    page.fill("#f-title", "Papir")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(DEAL_PAGE)
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        deal = session.scalars(select(Deal)).one()
        assert (deal.direction, deal.type_id) == ("purchase", kinds["Nabava"])
    page.goto(f"{live.url}/deals/{deal.id}/edit")
    expect(offered).to_have_text(["— choose —", "Nabava", "Servis"])
    page.select_option("#f-direction", "sale")
    expect(offered).to_have_text(["— choose —", "Maloprodaja", "Servis"])
    page.select_option("#f-type_id", label="Servis")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(DEAL_PAGE)
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        deal = session.get_one(Deal, deal.id)
        assert (deal.direction, deal.type_id) == ("sale", kinds["Servis"])
    assert errors == []
    context.close()
