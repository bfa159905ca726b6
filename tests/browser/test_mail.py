"""Headless Chromium in the web mail: a colleague's message is read (the count in the
shell drops) and answered in its thread; an HTML message runs no script and loads no
remote image until the reader asks; a message with an attachment is written with
address completion and downloaded; the list is searched as one types."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from groupware.db import Database
from groupware.settings import Settings
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Cast
from tests.mail.test_web import mail

pytestmark = pytest.mark.browser


def _log_in(page: Page, live: LiveServer, username: str) -> None:
    page.goto(f"{live.url}/login?next=%2Fmail")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.url}/mail")


def _errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def test_a_colleagues_message_is_read_and_answered_in_its_thread(
    chromium: Browser,
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
) -> None:
    mail(database, settings, committed.bob, "alice@groupware.local", "Ponuda", "Kada stiže?")
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, live, "alice")
    mail_nav = page.locator("nav.mainnav a", has_text="Mail")
    expect(mail_nav.get_by_test_id("nav-count")).to_have_text(re.compile(r"^1"))
    page.get_by_role("link", name="Ponuda").click()
    expect(page.get_by_test_id("mail-text")).to_contain_text("Kada stiže?")
    expect(mail_nav.get_by_test_id("nav-count")).to_have_count(0)
    page.get_by_role("link", name="Reply", exact=True).click()
    expect(page.locator("#f-subject")).to_have_value("Re: Ponuda")
    expect(page.locator("#f-text")).to_have_value(re.compile(r"> Kada stiže\?"))
    page.locator("#f-text").press("Control+Home")
    page.locator("#f-text").type("Sutra.")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your message is sent.")).to_be_visible()
    assert errors == []
    context.close()

    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    _log_in(page, live, "bob")
    page.get_by_role("link", name="Re: Ponuda").click()
    expect(page.get_by_test_id("mail-text")).to_contain_text("Sutra.")
    thread = page.get_by_test_id("thread")
    expect(thread.locator("li")).to_have_count(2)
    expect(thread.locator("li").first).to_contain_text("Ponuda")
    expect(thread.locator("li").last).to_contain_text("Re: Ponuda")
    context.close()


def test_html_mail_runs_no_script_and_loads_remote_images_only_when_asked(
    chromium: Browser,
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
) -> None:
    html = (
        "<h2>Akcija tjedna</h2><script>window.pwned = true; document.title = 'pwned'</script>"
        '<img src="https://tracker.example/open.gif" alt="logo" onerror="window.pwned = true">'
        '<p style="background: url(https://tracker.example/bg.png)">Popust 20 posto</p>'
    )
    mail(database, settings, committed.bob, "alice@groupware.local", "Akcija", "Akcija", html)
    context = chromium.new_context(locale="en-GB")
    fetched: list[str] = []

    def tracker(route: Route) -> None:
        fetched.append(route.request.url)
        route.fulfill(status=200, content_type="image/gif", body=b"GIF89a")

    context.route("https://tracker.example/**", tracker)
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, live, "alice")
    page.get_by_role("link", name="Akcija").click()
    expect(page.get_by_test_id("mail-html")).to_contain_text("Akcija tjedna")
    expect(page.get_by_test_id("images-blocked")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert fetched == []
    assert page.evaluate("window.pwned") is None
    assert "pwned" not in page.title()
    page.get_by_test_id("show-images").click()
    expect(page.get_by_role("img", name="logo")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert "https://tracker.example/open.gif" in fetched
    assert page.evaluate("window.pwned") is None
    assert errors == []
    context.close()


def test_a_message_with_an_attachment_is_written_with_address_completion(
    chromium: Browser,
    live: LiveServer,
    committed: Cast,
) -> None:
    context = chromium.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, live, "alice")
    page.get_by_role("link", name="Write").click()
    page.locator("#f-to").press_sequentially("bo")
    option = page.get_by_role("option", name=re.compile("Bob <bob@groupware.local>"))
    option.click()
    expect(page.locator("#f-to")).to_have_value("Bob <bob@groupware.local>, ")
    page.fill("#f-subject", "Cjenik")
    page.fill("#f-text", "Cjenik je u prilogu.")
    page.set_input_files(
        "#f-attachments",
        files=[{"name": "cjenik.csv", "mimeType": "text/csv", "buffer": b"artikl;cijena\n"}],
    )
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_text("Your message is sent.")).to_be_visible()
    assert errors == []
    context.close()

    context = chromium.new_context(locale="en-GB", accept_downloads=True)
    page = context.new_page()
    _log_in(page, live, "bob")
    page.get_by_role("link", name="Cjenik").click()
    with page.expect_download() as download:
        page.get_by_test_id("attachments").get_by_role("link", name="cjenik.csv").click()
    saved = download.value
    assert saved.suggested_filename == "cjenik.csv"
    with open(saved.path(), "rb") as handle:
        assert handle.read() == b"artikl;cijena\n"
    context.close()


def test_the_list_is_searched_as_one_types(
    chromium: Browser,
    live: LiveServer,
    committed: Cast,
    database: Database,
    settings: Settings,
) -> None:
    mail(database, settings, committed.bob, "alice@groupware.local", "Ponuda za Konzum")
    mail(database, settings, committed.dave, "alice@groupware.local", "Godišnji odmor")
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, live, "alice")
    rows = page.get_by_test_id("message-row")
    expect(rows).to_have_count(2)
    page.get_by_label("Search mail").press_sequentially("godiš")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Godišnji odmor")
    page.get_by_label("Search mail").fill("")
    page.get_by_label("Search mail").press_sequentially("nema")
    expect(page.get_by_text("No message matches your search.")).to_be_visible()
    assert errors == []
    context.close()


def test_an_address_typed_before_the_completion_script_ran_is_completed(
    chromium: Browser,
    live: LiveServer,
    committed: Cast,
) -> None:
    """On a slow machine the form is there before its script: what was typed in the
    meantime is looked up when the script runs."""
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    errors = _errors(page)
    _log_in(page, live, "alice")
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/static/mail/compose.js*", hold)
    page.get_by_role("link", name="Write").click()
    page.locator("#f-to").press_sequentially("bo")
    expect(page.get_by_role("option")).to_have_count(0)
    assert len(held) == 1
    held[0].continue_()
    page.get_by_role("option", name=re.compile("Bob <bob@groupware.local>")).click()
    expect(page.locator("#f-to")).to_have_value("Bob <bob@groupware.local>, ")
    assert errors == []
    context.close()
