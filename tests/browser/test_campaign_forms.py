"""Headless Chromium, in Croatian: an administrator defines a campaign type with three
phases in the process-type editor, then makes a campaign typing its amounts the
Croatian way (``12.500,50``), sees them shown back the same way, and moves it on its
timeline."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from groupware.access.policy import load_who
from groupware.accounts.models import User
from groupware.campaigns.models import Campaign
from groupware.campaigns.service import CampaignIn, create_campaign
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.db import Database
from groupware.deals.types import save_type as save_deal_type
from groupware.phases import types as phase_types
from groupware.phases.types import StepIn, TypeIn
from tests.browser.conftest import log_in
from tests.conftest import LiveServer
from tests.factories import Cast, make_partner

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


def test_the_live_count_follows_the_criteria_and_the_list_is_frozen_and_rolled_out(
    chromium: Browser, live: LiveServer, committed: Cast, database: Database
) -> None:
    """In Croatian: typing a postal-code range and an amount the Croatian way updates the
    live count without a click; the list is frozen, previewed and rolled out, and the
    progress bar ends done."""
    with database.transaction(actor_id=None, channel="cli") as session:
        root = load_who(session, session.get_one(User, committed.root.id))
        for name, postal in (("Konzum d.d.", "10000"), ("Pekara d.o.o.", "10020"),
                             ("Solana d.d.", "21000")):  # fmt: skip
            make_partner(session, root, name, postal_code=postal)
        fair = TypeIn(name="Sajam", phases=[StepIn(name="Priprema")])
        kind = phase_types.save_type(session, root, CAMPAIGN_TYPES, None, fair)
        offer = TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda")])
        sale = save_deal_type(session, root, None, offer)
        data = CampaignIn(name="Sajam Zagreb", type_id=kind.id, starts_on="2026-11-02")
        campaign_id = create_campaign(session, root, data).id
        sale_name = sale.name
    context = chromium.new_context(locale="hr-HR")
    page = context.new_page()
    log_in(page, live, "root")
    page.goto(f"{live.url}/campaigns/{campaign_id}/choose")
    count = page.get_by_test_id("live-count")
    expect(count).to_contain_text("Odaberite kriterije")
    page.fill("#f-postal_from", "10000")
    expect(count).to_have_attribute("data-count", "3")
    page.fill("#f-postal_to", "10999")
    expect(count).to_have_attribute("data-count", "2")
    expect(count).to_contain_text("2 partnera odgovaraju.")
    page.fill("#f-revenue_min", "1.000,50")  # nobody has invoices: read the Croatian way
    expect(count).to_contain_text("Ovim kriterijima ne odgovara nijedan partner.")
    page.fill("#f-revenue_min", "")
    expect(count).to_have_attribute("data-count", "2")
    page.get_by_role("button", name="Dodaj odgovarajuće partnere na popis").click()
    expect(page.get_by_test_id("list-campaign_targets")).to_contain_text("Pekara d.o.o.")

    page.goto(f"{live.url}/campaigns/{campaign_id}/rollout")
    page.select_option("#f-deal_type_id", label=sale_name)
    page.fill("#f-task_title", "Pozvati na sajam")
    page.get_by_role("button", name="Pregled").click()
    expect(page.get_by_test_id("rollout-reps")).to_be_visible()
    page.get_by_role("button", name="Pokreni").click()
    expect(page.get_by_test_id("rollout-progress")).to_have_attribute("data-status", "done")
    expect(page.locator('[data-rollout="deals"]')).to_have_text("2")
    context.close()
