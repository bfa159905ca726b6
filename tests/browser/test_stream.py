"""Headless Chromium on a partner's page: alice logs a call with the quick action (a
mistake shown in place first), schedules a meeting with bob from it, and filters the
stream; the page fits a phone."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import Browser, expect

from groupware.access.policy import SYSTEM
from groupware.crm.partners import set_reps
from groupware.db import Database
from tests.browser.conftest import BrowserProblems, log_in
from tests.conftest import LiveServer
from tests.factories import Cast, make_partner

pytestmark = pytest.mark.browser


def test_a_call_and_a_meeting_from_the_partner_page_land_in_its_stream(
    chromium: Browser,
    live: LiveServer,
    committed: Cast,
    database: Database,
    browser_problems: BrowserProblems,
) -> None:
    browser_problems.allow_status(422)  # the form sent with a mistake on purpose
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = make_partner(session, SYSTEM, "Konzum d.d.")
        set_reps(session, partner, owner_id=committed.alice.id, rep_ids=[])
        partner_id = partner.id
    context = chromium.new_context(locale="en-GB", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live, "alice")
    page.goto(f"{live.url}/partners/{partner_id}")
    stream = page.get_by_test_id("stream")

    page.get_by_role("link", name="Log a call").click()
    form = page.get_by_test_id("call-form")
    expect(form).to_be_visible()
    form.get_by_label("Minutes").fill("pola sata")
    form.get_by_label("What was said").fill("Traže ponudu do petka")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("Enter a whole number")).to_be_visible()
    form.get_by_label("Minutes").fill("15")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The call is logged.")).to_be_visible()
    logged = stream.locator("li.call").first
    expect(logged).to_contain_text("Traže ponudu do petka")
    expect(logged).to_contain_text("15 min")

    page.get_by_role("link", name="Schedule a meeting").first.click()
    meeting = page.get_by_test_id("event-form")
    expect(meeting).to_be_visible()
    expect(meeting.get_by_label("Partner", exact=True)).to_have_value(str(partner_id))
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    meeting.get_by_label("Title").fill("Pregovori")
    meeting.get_by_label("Start date").fill(tomorrow.isoformat())
    meeting.get_by_label("Start time").fill("10:00")
    meeting.get_by_label("Invite colleagues").select_option(label="Bob")
    meeting.get_by_role("button", name="Save").click()
    expect(page.get_by_text("The event is saved.")).to_be_visible()
    expect(page).to_have_url(f"{live.url}/partners/{partner_id}")
    expect(page.get_by_test_id("partner-meetings")).to_contain_text("Pregovori")
    expect(stream.locator("li.meeting").first).to_contain_text("With: Bob")

    # Only calls: the list is asked for again with the filter.
    page.locator(".stream-filters").get_by_label("Calls").check()
    expect(stream.locator("li.meeting")).to_have_count(0)
    expect(stream.locator("li.call")).to_have_count(1)

    # On a phone the page and its stream fit the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    context.close()
