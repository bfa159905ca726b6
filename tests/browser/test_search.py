"""Headless Chromium: the header's search box. Typing shows the hits grouped by kind;
the arrow keys walk them and Enter opens the chosen record; Escape closes the list,
and Enter without a choice opens the results page. The "+" menu opens the forms the
user may use."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from groupware.crm.persons import PersonIn, save_person
from groupware.db import Database
from tests.browser.conftest import log_in
from tests.conftest import LiveServer
from tests.factories import Cast, make_partner

pytestmark = pytest.mark.browser


def test_typing_arrowing_and_enter_land_on_the_record(
    chromium: Browser, live: LiveServer, committed: Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        who = committed.who(session, committed.alice)
        mill = make_partner(
            session, who, "Čakovečki mlinovi d.d.", city="Čakovec", postal_code="40000"
        )
        save_person(
            session, who, None, PersonIn(partner_id=mill.id, first_name="Ana", last_name="Čakić")
        )
        charlie = committed.who(session, committed.charlie)
        make_partner(session, charlie, "Čakovec Tajna d.o.o.", city="Čakovec", postal_code="40000")
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    log_in(page, live, "alice")
    box = page.get_by_role("combobox")
    box.fill("cak")  # without the diacritics
    hits = page.locator("#search-results")
    expect(hits).to_be_visible()
    expect(hits.get_by_role("option", name="Čakovečki mlinovi d.d. · Čakovec")).to_be_visible()
    expect(hits).not_to_contain_text("Tajna")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "search-hit-partners-1")
    box.press("Escape")
    expect(hits).to_be_hidden()
    box.press("ArrowDown")
    expect(hits).to_be_visible()
    box.press("ArrowDown")  # past the partner, the first person
    expect(hits.get_by_role("option", selected=True)).to_have_text(
        "Ana Čakić · Čakovečki mlinovi d.d."
    )
    box.press("ArrowUp")
    box.press("Enter")
    expect(page).to_have_url(f"{live.url}/partners/{mill.id}")
    expect(page.get_by_role("heading", name="Čakovečki mlinovi d.d.")).to_be_visible()

    # with the diacritics, and Enter without choosing: the results page
    box = page.get_by_role("combobox")
    box.fill("čakovečki")
    expect(page.locator("#search-results").get_by_role("option").first).to_be_visible()
    box.press("Enter")
    expect(page).to_have_url(f"{live.url}/search?q=%C4%8Dakove%C4%8Dki")
    expect(page.locator("main").get_by_role("link", name="Čakovečki mlinovi d.d.")).to_be_visible()

    page.locator("details.quick-create summary").click()
    page.locator("details.quick-create").get_by_role("link", name="Task", exact=True).click()
    expect(page).to_have_url(f"{live.url}/tasks/new")
    context.close()
