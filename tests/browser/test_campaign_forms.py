"""Headless Chromium, in Croatian: an administrator defines a campaign type with three
phases in the process-type editor, then makes a campaign typing its amounts the
Croatian way (``12.500,50``), sees them shown back the same way, and moves it on its
timeline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from groupware.campaigns.models import Campaign
from groupware.db import Database
from tests.browser.conftest import log_in
from tests.conftest import LiveServer
from tests.factories import Cast

pytestmark = pytest.mark.browser


def test_a_campaign_type_and_a_campaign_are_made_in_croatian(
    chromium: Browser, live: LiveServer, committed: Cast, database: Database
) -> None:
    context = chromium.new_context(locale="hr-HR")
    page = context.new_page()
    log_in(page, live, "root")  # an administrator who reads Croatian
    page.goto(f"{live.url}/admin/campaign-types/new")
    expect(page.locator("h1")).to_have_text("Nova vrsta kampanje")
    page.fill("#f-name", "Sajam")
    for number, (name, days) in enumerate([("Priprema", "14"), ("Sajam", "3"), ("Praćenje", "10")]):
        page.get_by_label(f"Faza {number + 1}", exact=True).fill(name)
        page.get_by_label(f"Planirani dani faze {number + 1}").fill(days)
    page.get_by_role("button", name="Spremi").click()
    expect(page).to_have_url(f"{live.url}/admin/campaign-types")
    expect(page.get_by_test_id("campaign-types")).to_contain_text("Priprema (14 dana)")

    page.goto(f"{live.url}/campaigns/new")
    page.fill("#f-name", "Sajam Zagreb")
    page.select_option("#f-type_id", label="Sajam")
    page.fill("#f-starts_on", "2026-11-02")
    page.fill("#f-budget", "12.500,50")
    page.fill("#f-expected_revenue", "40.000")
    page.get_by_role("button", name="Spremi").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
    expect(page.get_by_text(re.compile(r"12\.500,50\s€")).first).to_be_visible()
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        campaign = session.scalars(select(Campaign)).one()
        assert str(campaign.budget) == "12500.50" and str(campaign.expected_revenue) == "40000.00"
    timeline = page.get_by_test_id("timeline")
    timeline.locator("li", has_text="Praćenje").get_by_role(
        "button", name="Premjesti ovdje"
    ).click()
    expect(page.get_by_test_id("status")).to_have_text("u tijeku")
    page.goto(f"{live.url}/campaigns/{campaign.id}/edit")
    expect(page.locator("#f-budget")).to_have_value("12.500,50")
    context.close()
