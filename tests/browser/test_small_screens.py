"""Every main page on a 390 px phone and a 1366 px laptop: nothing wider than the
screen and no text on other text (tests/browser/layout.py), with a clean console. The
screenshots (and a full-page one of a page with a problem) are kept in the test's temporary
directory, to look at when it fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select

from groupware.accounts.models import User
from groupware.campaigns.models import Campaign
from groupware.crm.models import Person
from groupware.db import Database
from groupware.demo import DEMO_PASSWORD, load_demo
from groupware.mail.models import MailEntry, MailLink
from groupware.tasks.models import Task
from tests.browser.conftest import log_in
from tests.browser.layout import layout_problems, walk_problems
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

SCREENS = [(390, 844, True), (1366, 900, False)]  # width, height, a phone


# the main pages that show no record of their own (_main_pages adds those)
MAIN_PAGES = {
    "dashboard": "/",
    "partners": "/partners",
    "persons": "/persons",
    "deals": "/deals",
    "board": "/deals/board",
    "campaigns": "/campaigns",
    "reports": "/deals/reports",
    "tasks": "/tasks",
    "week": "/calendar/week",
    "month": "/calendar",
    "mail": "/mail",
    "documents": "/documents",
    "history": "/history",
    "notifications": "/notifications",
    "profile": "/profile",
}


def _main_pages(database: Database) -> dict[str, str]:
    with database.session() as session:
        ana = session.scalar(select(User.id).where(User.username == "ana"))

        def first(query: object) -> int:
            value = session.scalar(query)  # type: ignore[call-overload]
            assert value is not None, query
            return int(value)

        partner = first(select(MailLink.record_id).where(MailLink.record_type == "partners"))
        deal = first(select(MailLink.record_id).where(MailLink.record_type == "deals"))
        person = first(select(func.min(Person.id)))
        task = first(select(func.min(Task.id)))
        campaign = first(select(func.min(Campaign.id)))
        message = first(select(func.max(MailEntry.id)).where(MailEntry.user_id == ana))
    return {
        **MAIN_PAGES,
        "partner": f"/partners/{partner}",
        "person": f"/persons/{person}",
        "deal": f"/deals/{deal}",
        "task": f"/tasks/{task}",
        "campaign": f"/campaigns/{campaign}",
        "message": f"/mail/{message}",
        "users": "/admin/users",
        "campaign_form": "/campaigns/new",
        "campaign_types": "/admin/campaign-types",
        "campaign_type": "/admin/campaign-types/new",
        "campaign_targets": f"/campaigns/targets?campaign_id={campaign}",
        "campaign_choose": f"/campaigns/{campaign}/choose",
        "campaign_rollout": f"/campaigns/{campaign}/rollout",
    }


def test_every_main_page_fits_a_phone_and_a_laptop(
    chromium: Browser, demo_server: LiveServer, tmp_path: Path
) -> None:
    live, database = demo_server, demo_server.database
    assert load_demo(database) is False  # the demo company, loaded already
    pages = _main_pages(database)
    problems: list[str] = []
    for width, height, phone in SCREENS:
        context = chromium.new_context(
            viewport={"width": width, "height": height},
            is_mobile=phone,
            has_touch=phone,
            locale="hr-HR",
        )
        page = context.new_page()
        log_in(page, live, "ana", password=DEMO_PASSWORD)
        problems += walk_problems(page, live.url, pages, width, tmp_path)
        context.close()
    assert problems == [], f"screenshots in {tmp_path}:\n" + "\n".join(problems)


def _phone(chromium: Browser, live: LiveServer) -> Page:
    context = chromium.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="en-GB"
    )
    page = context.new_page()
    log_in(page, live, "alice")
    return page


def test_the_check_sees_a_page_too_wide_and_text_on_text(
    chromium: Browser, live: LiveServer, committed: object
) -> None:
    page = _phone(chromium, live)
    assert layout_problems(page, 390) == []
    page.evaluate(
        """() => {
          const main = document.querySelector("main");
          const wide = Object.assign(document.createElement("p"), {id: "wide"});
          wide.textContent = "x".repeat(20);
          wide.style.width = "600px";
          const over = Object.assign(document.createElement("h1"), {id: "over"});
          over.textContent = "Pozdrav svima";
          over.style.marginTop = "-2.5rem";
          main.append(wide, over);
        }"""
    )
    found = layout_problems(page, 390)
    assert any(p.startswith("wider than the screen: p#wide") for p in found), found
    assert any(p.startswith("text on text:") and "h1#over" in p for p in found), found


def test_the_menu_opens_by_keyboard_and_by_touch_on_a_phone(
    chromium: Browser, live: LiveServer, committed: object
) -> None:
    page = _phone(chromium, live)
    nav = page.locator("nav.mainnav")
    expect(nav).to_be_hidden()
    page.locator("#menu-toggle").focus()
    page.keyboard.press("Space")
    expect(nav).to_be_visible()
    expect(nav.locator('a[aria-current="page"]')).to_have_text("Dashboard")
    page.keyboard.press("Tab")
    expect(nav.locator("a").first).to_be_focused()
    page.keyboard.press("Shift+Tab")  # and closed again from the keyboard
    expect(page.locator("#menu-toggle")).to_be_focused()
    page.keyboard.press("Space")
    expect(nav).to_be_hidden()
    page.locator("label.menu-button").tap()
    expect(nav).to_be_visible()
    nav.get_by_role("link", name="Partners").tap()
    expect(page).to_have_url(f"{live.url}/partners")
    expect(page.locator('nav.mainnav a[aria-current="page"]')).to_have_text("Partners")
