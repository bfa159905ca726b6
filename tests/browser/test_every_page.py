"""Every page of the app, walked by an administrator of the demo company: each GET page
route once by a full load and once by htmx-boosted navigation (htmx swapping the page
into the one before), with a clean console. The ``chromium`` fixture fails the test on
any console error, script error or Content-Security-Policy violation.

The pages are the app's own GET routes, so a new page is walked without anyone adding
it here; a route that is not a page (a download, JSON) must be named in ``NOT_PAGES``
with the reason, or the test fails.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session
from starlette.routing import Route

from groupware import wiring
from groupware.accounts.models import Role, Team, User
from groupware.activities.models import Activity
from groupware.announcements.models import Announcement
from groupware.app import collect_routes
from groupware.caldav.models import Calendar, CalendarItem
from groupware.campaigns.models import Campaign
from groupware.crm.importing import imports
from groupware.crm.models import (
    AssignmentRule,
    Branch,
    Document,
    PartnerGroup,
    Person,
    Territory,
)
from groupware.db import Database
from groupware.demo import DEMO_PASSWORD, load_demo
from groupware.mail.models import MailEntry, MailLink, MailMessage
from groupware.phases.models import ProcessType
from groupware.tasks.models import Task
from tests.browser.conftest import log_in
from tests.conftest import LiveServer
from tests.crm.test_imports import big_csv, start_job

pytestmark = pytest.mark.browser

ADMIN = "ana"  # the demo company's administrator
NOT_PAGES = {
    "/login": "the form before one logs in; the walk starts there",
    "/partners/export.csv": "a download",
    "/lists/{list_name}/export.csv": "a download",
    "/deals/reports/forecast.csv": "a download",
    "/campaigns/{campaign_id:int}/results.csv": "a download",
    "/imports/{import_id:int}/errors.csv": "a download",
    "/mail/{entry_id:int}/parts/{number:int}": "a download",
    "/mail/addresses": "JSON for address completion",
}
# Pages that send a Content-Security-Policy of their own (a mail with its styles):
# htmx must load them as documents of their own rather than swap them in.
OWN_POLICY = {"/mail/{entry_id:int}", "/mail/{entry_id:int}/records"}
PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
# Pages that show one record's rows by a query parameter (without it they send the
# reader to where it is chosen).
QUERIES = {"/campaigns/targets": "?campaign_id={campaign_id}"}


def _first(session: Session, query: Select[Any]) -> int:
    value = session.scalar(query)
    assert value is not None, f"the demo has no row for {query}"
    return int(value)


def _values(session: Session, admin_id: int, import_id: int) -> dict[str, str]:
    """A value for each path parameter: records of the demo the administrator sees, the
    richest where it matters (a partner with mail, a mail with inline styles)."""
    partner_id = _first(
        session, select(MailLink.record_id).where(MailLink.record_type == "partners").limit(1)
    )
    deal_id = _first(
        session, select(MailLink.record_id).where(MailLink.record_type == "deals").limit(1)
    )
    entry_id = _first(
        session,
        select(MailEntry.id)
        .join(MailMessage)
        .where(MailEntry.user_id == admin_id, MailMessage.html.contains("style="))
        .limit(1),
    )
    event = session.execute(
        select(CalendarItem.calendar_id, CalendarItem.href)
        .join(Calendar)
        .where(Calendar.owner_id == admin_id, CalendarItem.component == "VEVENT")
        .where(CalendarItem.ics.is_not(None))
        .limit(1)
    ).one()
    return {
        "partner_id": str(partner_id),
        "person_id": str(_first(session, select(func.min(Person.id)))),
        "branch_id": str(_first(session, select(func.min(Branch.id)))),
        "deal_id": str(deal_id),
        "campaign_id": str(_first(session, select(func.min(Campaign.id)))),
        "type_id": str(_first(session, select(func.min(ProcessType.id)))),
        "task_id": str(_first(session, select(func.min(Task.id)))),
        "entry_id": str(entry_id),
        "calendar_id": str(event.calendar_id),
        "href": event.href,
        "document_id": str(_first(session, select(func.min(Document.id)))),
        "territory_id": str(_first(session, select(func.min(Territory.id)))),
        "rule_id": str(_first(session, select(func.min(AssignmentRule.id)))),
        "group_id": str(_first(session, select(func.min(PartnerGroup.id)))),
        "import_id": str(import_id),
        "announcement_id": str(_first(session, select(func.min(Announcement.id)))),
        "activity_id": str(_first(session, select(func.min(Activity.id)))),
        "record_type": "partners",
        "record_id": str(partner_id),
        "user_id": str(_first(session, select(func.max(User.id)))),
        "team_id": str(_first(session, select(func.min(Team.id)))),
        "role_id": str(_first(session, select(func.min(Role.id)))),
    }


def _page_routes() -> list[str]:
    web, _api, _nav = collect_routes()
    paths = [r.path for r in web if isinstance(r, Route) and "GET" in (r.methods or ())]
    return [p for p in paths if p not in NOT_PAGES]


def _address(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        assert match.group(1) in values, f"the walk has no value for {match.group(1)} ({path})"
        return values[match.group(1)]

    return PARAM.sub(value, path)


def _an_import(database: Database, tmp_path: Path) -> tuple[int, int]:
    """One partner import of the demo checked and waiting to be committed."""
    with database.session() as session:
        admin_id = _first(session, select(User.id).where(User.username == ADMIN))
    job_id = start_job(database, admin_id, big_csv(tmp_path / "partneri.csv", 20))
    assert imports.run_job(database, job_id, "validate").status == "validated"
    return admin_id, job_id


def _boost_to(page: Page, url: str) -> None:
    """Follow a link the way a person clicks one in the app: htmx boosts it."""
    page.evaluate(
        """(url) => {
          document.getElementById("walk-link")?.remove();
          const link = Object.assign(document.createElement("a"), {id: "walk-link", href: url});
          link.textContent = "next page";
          document.querySelector("main").prepend(link);
          htmx.process(link);
        }""",
        url,
    )
    page.click("#walk-link")


@pytest.mark.timeout(600)  # the demo company takes a while to load on PostgreSQL
def test_every_page_loads_and_boosts_with_a_clean_console(
    chromium: Browser, demo_server: LiveServer, tmp_path: Path
) -> None:
    live, database = demo_server, demo_server.database
    assert load_demo(database) is False  # the demo company, loaded already
    admin_id, job_id = _an_import(database, tmp_path)
    with database.session() as session:
        values = _values(session, admin_id, job_id)
        first_types = dict(
            session.execute(
                select(ProcessType.process, func.min(ProcessType.id)).group_by(ProcessType.process)
            ).all()
        )
    addresses = {}
    for route in _page_routes():
        if "{process}" not in route:
            addresses[route] = _address(route, values) + QUERIES.get(route, "").format(**values)
            continue
        for process in wiring.current().process_kinds:  # each kind's editor, with its type
            path = route.replace("{process}", process)
            addresses[path] = _address(path, {**values, "type_id": str(first_types[process])})
    context = chromium.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live, ADMIN, password=DEMO_PASSWORD)

    landed = {}  # a fragment's address typed in shows the page it belongs to
    for path, address in addresses.items():
        response = page.goto(live.url + address)
        assert response is not None and response.status == 200, (address, response)
        landed[path] = page.url.split("#")[0]  # htmx keeps no fragment of a redirect

    page.goto(live.url + "/")
    before = "/"
    for path, address in addresses.items():
        page.evaluate("window.walkMark = true")  # gone when the browser loads a new document
        _boost_to(page, address)
        expect(page).to_have_url(landed[path])
        expect(page.locator(".htmx-request, .htmx-settling")).to_have_count(0)
        swapped = page.evaluate("window.walkMark === true")
        # A page with a policy of its own is a document of its own: entered and left
        # by loading, never by a swap that would leave one page under the other's policy.
        assert swapped == (path not in OWN_POLICY and before not in OWN_POLICY), (before, path)
        before = path
    page.wait_for_load_state("networkidle")  # what the last page asks for reports too
    context.close()
    assert set(NOT_PAGES) <= {r.path for r in collect_routes()[0] if isinstance(r, Route)}
