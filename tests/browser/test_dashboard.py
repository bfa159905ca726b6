"""The dashboard in Chromium at desktop width: its charts are drawn with legends and
axes, a bar leads to the list behind it, a widget hides and stays hidden, and a
manager switches to their own figures; all with a clean console (the ``chromium``
fixture fails on any error or Content-Security-Policy violation)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from groupware.db import Database
from tests.browser.conftest import chromium, log_in
from tests.conftest import LiveServer
from tests.dashboard_world import World, commit_world
from tests.factories import Cast

pytestmark = pytest.mark.browser
__all__ = ["chromium"]


@pytest.fixture
def world(live: LiveServer, committed: Cast, database: Database) -> World:
    return commit_world(database, committed)


def test_the_dashboard_draws_its_charts_and_leads_to_the_lists_behind_them(
    chromium: Browser, live: LiveServer, world: World
) -> None:
    context = chromium.new_context(locale="en-GB", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live, "alice")
    pipeline = page.locator('[data-widget="deals-pipeline"]')
    chart = pipeline.locator('[data-testid="pipeline-chart-1"]')
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar").count() == 4  # Qualify and Offer, value and weighted
    expect(chart.locator(".legend")).to_contain_text("Weighted value")  # each chart its own
    expect(chart.locator("text.tick").first).to_have_text("€0")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300, box
    forecast = page.locator('[data-testid="forecast-chart"]')
    expect(forecast).to_be_visible()
    expect(forecast.locator("text.label").first).to_contain_text(re.compile(r"\d{4}"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366

    chart.locator("a.bar-link").nth(2).click()  # Offer's value
    expect(page).to_have_url(re.compile(r"/deals\?.*step_id="))
    expect(page.locator("table.deals tbody tr")).to_have_count(1)
    expect(page.locator("table.deals")).to_contain_text("alice 8000.00")

    page.go_back()
    overdue = page.locator('[data-widget="tasks-due"] [data-testid="tasks-overdue"]')
    # one or two by the clock: alice has a task overdue and one due at 14:00 today
    count = int(overdue.locator(".figure-value").inner_text())
    assert count in (1, 2)
    overdue.click()
    expect(page).to_have_url(re.compile(r"/tasks\?view=mine&due=overdue"))
    expect(page.locator('[data-testid="list-tasks"] tbody tr')).to_have_count(count)
    context.close()


def test_a_widget_hides_in_the_background_and_stays_hidden(
    chromium: Browser, live: LiveServer, world: World
) -> None:
    context = chromium.new_context(locale="en-GB", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live, "dave")
    expect(page.locator("#scope")).to_have_value(f"team-{world.cast.north.id}")
    page.select_option("#scope", "own")
    expect(page).to_have_url(f"{live.url}/?scope=own")
    expect(page.locator('[data-widget="deals-pipeline"] .scope-chip')).to_have_text("Mine")
    mail = page.locator('[data-widget="mail-unread"]')
    expect(mail).to_be_visible()
    mail.get_by_role("button", name="Hide “Unread mail”").click()
    expect(mail).to_have_count(0)
    page.reload()
    expect(page.locator('[data-widget="mail-unread"]')).to_have_count(0)
    page.locator('[data-testid="customise"] summary').click()
    page.check("#show-mail-unread")
    page.get_by_role("button", name="Save").click()
    expect(page.locator('[data-widget="mail-unread"]')).to_be_visible()
    context.close()
