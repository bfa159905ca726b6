"""Headless Chromium (Debian's, driven by Playwright): a person logs in, switches
language and sees the dashboard, on a laptop and on a phone."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import BrowserProblems, browser_problems, chromium
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Cast

pytestmark = pytest.mark.browser
__all__ = ["browser_problems", "chromium"]  # the fixtures, for modules that import them here


def _log_in(page: Page, live: LiveServer, username: str) -> None:
    page.goto(f"{live.url}/announcements")
    expect(page).to_have_url(f"{live.url}/login?next=%2Fannouncements")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.url}/announcements")


def test_log_in_switch_language_and_see_the_dashboard(
    chromium: Browser, live: LiveServer, committed: Cast
) -> None:
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    _log_in(page, live, "alice")
    page.click("a.brand")
    expect(page.locator("h1")).to_have_text("Hello, Alice")
    expect(page.get_by_role("heading", name="Announcements")).to_be_visible()
    page.click("button[name=language][value=hr]")
    expect(page.locator("h1")).to_have_text("Pozdrav, Alice")
    expect(page.get_by_role("heading", name="Objave")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "hr")
    page.click("button[name=language][value=en]")
    expect(page.locator("h1")).to_have_text("Hello, Alice")
    context.close()


def test_htmx_share_panel_and_csrf_work_in_the_browser(
    chromium: Browser, live: LiveServer, committed: Cast
) -> None:
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    _log_in(page, live, "alice")
    page.click("text=New announcement")
    page.fill("#f-title", "Browser made")
    page.fill("#f-body", "Written in Chromium")
    page.click("button[name=publish]")
    expect(page.locator("h1")).to_have_text("Browser made")
    expect(page.locator(".flash.success")).to_have_text("The announcement is published.")
    page.click("text=Sharing and access")
    page.select_option("#grantee", label="Bob")
    page.select_option("#permission", value="write")
    page.click("#record-panel button:has-text('Share')")
    expect(page.locator("#record-panel")).to_contain_text("Bob")
    page.click("nav.tabs >> text=History")
    expect(page.locator("#record-panel")).to_contain_text("Shared with")
    context.close()


def test_the_shell_fits_a_phone(chromium: Browser, live: LiveServer, committed: Cast) -> None:
    context = chromium.new_context(
        locale="en-GB", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    _log_in(page, live, "root")
    page.goto(f"{live.url}/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide on a 375px phone"
    nav = page.locator("nav.mainnav")
    expect(nav).to_be_hidden()
    page.click("label.menu-button")
    expect(nav).to_be_visible()
    page.click("nav.mainnav >> text=Administracija")
    expect(page).to_have_url(f"{live.url}/admin/users")
    context.close()


def test_the_watch_reports_csp_violations_script_errors_and_failed_loads(
    chromium: Browser, live: LiveServer, committed: Cast, browser_problems: BrowserProblems
) -> None:
    """What the ``chromium`` fixture fails a test for, provoked here and then allowed."""
    page = chromium.new_context(locale="en-GB").new_page()
    _log_in(page, live, "alice")
    with page.expect_console_message(lambda m: "CSP violation: style-src-attr" in m.text):
        page.evaluate("document.querySelector('main').setAttribute('style', 'color: red')")
    with page.expect_event("pageerror"):
        page.evaluate("setTimeout(() => { throw new Error('a script broke') }, 0)")
    page.goto(f"{live.url}/no-such-page")
    expect(page.locator("h1")).to_have_text("There is no such page.")
    found = "\n".join(browser_problems.found)
    assert "CSP violation: style-src-attr blocked inline" in found
    assert "script error on" in found and "a script broke" in found
    assert "status of 404" in found
    for expected in ("style-src-attr", "inline style", "a script broke"):
        browser_problems.allow(expected)
    assert browser_problems.unexpected() != []
    browser_problems.allow_status(404)
    assert browser_problems.unexpected() == []
