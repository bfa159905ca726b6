"""Headless Chromium: a task given to alice is accepted and completed on its page, and
she makes an event in the web calendar and sees it in the week."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from groupware.accounts.models import User
from groupware.db import Database
from groupware.tasks import service as tasks
from tests.browser.test_shell import _log_in
from tests.conftest import LiveServer
from tests.factories import Cast

pytestmark = pytest.mark.browser


def test_a_task_is_accepted_and_done_and_an_event_made(
    chromium: Browser,
    live: LiveServer,
    committed: Cast,
    database: Database,
) -> None:
    with database.transaction(actor_id=committed.dave.id, channel="web") as session:
        dave = committed.who(session, session.get(User, committed.dave.id))
        data = tasks.TaskIn(title="Nazvati Konzum", assignee_id=committed.alice.id, note="Danas")
        task_id = tasks.create_task(session, dave, data).id
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    _log_in(page, live, "alice")
    page.goto(f"{live.url}/tasks")
    page.get_by_role("link", name="Nazvati Konzum").click()
    expect(page).to_have_url(f"{live.url}/tasks/{task_id}")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_test_id("response")).to_have_text("accepted")
    page.get_by_role("button", name="Mark as done").click()
    expect(page.get_by_test_id("status")).to_have_text("done")
    expect(page.get_by_test_id("progress")).to_have_text("100 %")
    page.goto(f"{live.url}/calendar/new")
    page.fill("input[name=title]", "Prezentacija")
    page.fill("input[name=start_date]", "2026-12-09")
    page.fill("input[name=start_time]", "10:00")
    page.fill("input[name=end_date]", "2026-12-09")
    page.fill("input[name=end_time]", "11:00")
    page.get_by_role("button", name="Save").click()
    expect(page).not_to_have_url(f"{live.url}/calendar/new")  # saved, shown in its month
    page.goto(f"{live.url}/calendar/week?week=2026-12-07")
    expect(page.get_by_text("Prezentacija")).to_be_visible()
    context.close()
