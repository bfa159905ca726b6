"""Headless Chromium in the calendar and the occupancy: the month's "Week" and "New
event" choose the day a calendar app would (today when shown, else the first working
day shown), the occupancy opens on the user's own team with the times of each busy
chip, and on a 390 px phone the week's day heads keep apart and the partner list labels
its stacked values."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

import pytest
from playwright.sync_api import Browser, Page, expect

from groupware.accounts.models import Team, User
from groupware.caldav import store
from groupware.db import Database
from groupware.settings import Settings
from tests.browser.conftest import log_in
from tests.conftest import LiveServer
from tests.factories import Cast, make_partner, make_user

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20261101T090000Z
DTSTART;TZID=Europe/Zagreb:{start}
DTEND;TZID=Europe/Zagreb:{end}
SUMMARY:{summary}
END:VEVENT
END:VCALENDAR
"""


def _page(chromium: Browser, live: LiveServer, username: str, **options: object) -> Page:
    page = chromium.new_context(locale="en-GB", **options).new_page()  # type: ignore[arg-type]
    log_in(page, live, username)
    return page


def _next_full_hour(settings: Settings) -> tuple[str, str]:
    now = dt.datetime.now(zoneinfo.ZoneInfo(settings.timezone)).replace(tzinfo=None)
    start = now.replace(minute=0, second=0, microsecond=0)
    if start.hour < 23:  # the last hour of the day starts at 23:00, still today
        start += dt.timedelta(hours=1)
    return start.date().isoformat(), f"{start:%H:%M}"


def _put(database: Database, user_id: int, uid: str, start: str, end: str, title: str) -> None:
    """An event in the user's calendar, in Zagreb's local time (``20261209T103000``)."""
    with database.transaction(actor_id=user_id, channel="dav") as session:
        user = session.get(User, user_id)
        assert user is not None
        calendar = store.ensure_defaults(session, user)[0]
        (item,) = store.parse_items(EVENT.format(uid=uid, start=start, end=end, summary=title))
        store.put_item(session, calendar, f"{uid}.ics", item)


def test_week_and_month_switch_to_todays_or_the_first_working_week(
    chromium: Browser, live: LiveServer, committed: Cast, settings: Settings
) -> None:
    page = _page(chromium, live, "alice")
    pages = page.get_by_role("navigation", name="Calendar pages")
    page.goto(f"{live.url}/calendar")
    pages.get_by_role("link", name="Week").click()
    today = dt.datetime.now(zoneinfo.ZoneInfo(settings.timezone)).date()
    expect(page.locator("thead th.today")).to_have_attribute("data-date", today.isoformat())

    page.goto(f"{live.url}/calendar?month=2020-02")  # 1 February 2020 was a Saturday
    pages.get_by_role("link", name="Week").click()
    expect(page.locator("thead th[data-date]").first).to_have_attribute("data-date", "2020-02-03")

    page.goto(f"{live.url}/calendar/week?week=2020-03-30")  # Monday 30 March to 5 April
    pages.get_by_role("link", name="Month").click()
    expect(page.locator("h1")).to_have_text("April 2020")  # the month of most of the week


def test_a_new_event_starts_at_the_next_hour_today_or_on_the_first_working_day_shown(
    chromium: Browser, live: LiveServer, committed: Cast, settings: Settings
) -> None:
    page = _page(chromium, live, "alice")

    def new_event_from(url: str) -> tuple[str, str]:
        page.goto(live.url + url)
        page.get_by_test_id("new-event").click()
        expect(page.locator("h1")).to_have_text("New event")
        return page.input_value("input[name=start_date]"), page.input_value(
            "input[name=start_time]"
        )

    before = _next_full_hour(settings)
    shown = new_event_from("/calendar/week")
    assert shown in {before, _next_full_hour(settings)}  # the hour may turn meanwhile
    before = _next_full_hour(settings)
    shown = new_event_from("/calendar")
    assert shown in {before, _next_full_hour(settings)}
    assert new_event_from("/calendar/week?week=2020-02-05") == ("2020-02-03", "09:00")
    assert new_event_from("/calendar?month=2020-02") == ("2020-02-03", "09:00")


def test_occupancy_opens_on_ones_own_team_with_the_times_of_busy_chips(
    chromium: Browser, live: LiveServer, committed: Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        north, south = session.get(Team, committed.north.id), session.get(Team, committed.south.id)
        assert north is not None and south is not None
        # In both teams, leading South; no administrator (who may read every calendar).
        erika = make_user(session, "erika", teams=(north, south), lead_of=(south,)).id
    _put(database, erika, "kolegij", "20261208T080000", "20261208T090000", "Kolegij")
    charlie = committed.charlie.id
    _put(database, charlie, "a", "20261209T103000", "20261209T114500", "Liječnik")
    _put(database, charlie, "b", "20261210T150000", "20261211T100000", "Put u Split")

    page = _page(chromium, live, "erika")
    page.goto(f"{live.url}/occupancy")
    expect(page.locator("#f-team option:checked")).to_have_text("South")  # not North
    page.goto(f"{live.url}/occupancy?view=week&day=2026-12-09")
    charlies = page.locator("tr", has=page.get_by_role("rowheader", name="Charlie"))
    expect(charlies.get_by_test_id("busy")).to_have_text(
        ["10:30–11:45 busy", "15:00–… busy", "…–10:00 busy"]  # in Zagreb; no titles
    )
    erikas = page.locator("tr", has=page.get_by_role("rowheader", name="Erika"))
    expect(erikas.get_by_test_id("busy")).to_have_text(["08:00–09:00 Kolegij"])


def test_on_a_phone_the_weeks_day_heads_keep_apart(
    chromium: Browser, live: LiveServer, committed: Cast
) -> None:
    page = _page(chromium, live, "alice", viewport=PHONE, is_mobile=True)
    page.goto(f"{live.url}/calendar/week?week=2026-12-07")
    heads = page.locator("thead th[data-date]")
    expect(heads).to_have_count(7)
    cells = [heads.nth(i).bounding_box() for i in range(7)]
    texts = [heads.nth(i).locator("a").bounding_box() for i in range(7)]
    for cell, text in zip(cells, texts, strict=True):
        assert cell is not None and text is not None
        assert cell["x"] <= text["x"] and text["x"] + text["width"] <= cell["x"] + cell["width"]
    for left, right in itertools.pairwise(texts):
        assert left is not None and right is not None
        assert left["x"] + left["width"] < right["x"]
    expect(heads.first).to_contain_text("Mon")
    # No year where space is short (the long date is there for wide screens, hidden).
    expect(heads.first.locator("a")).to_have_text("07/12", use_inner_text=True)


def test_on_a_phone_the_partner_list_labels_its_values(
    chromium: Browser, live: LiveServer, committed: Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        root = session.get(User, committed.root.id)
        assert root is not None
        make_partner(session, committed.who(session, root), "Konzum d.d.", city="Zagreb")
    page = _page(chromium, live, "root", viewport=PHONE, is_mobile=True)
    page.goto(f"{live.url}/partners")
    columns = page.locator("table.partners thead th[data-column]")
    keys = [columns.nth(i).get_attribute("data-column") for i in range(columns.count())]
    headings = dict(zip(keys, columns.all_inner_texts(), strict=True))
    row = page.locator("table.partners tbody tr").first
    expect(row.get_by_role("link", name="Konzum d.d.")).to_be_visible()
    # Each value shown (beside the name, the row's title) says which column it is.
    shown = row.locator("td[data-label]").evaluate_all(
        """cells => cells.filter(c => c.offsetParent !== null).map(c => {
          const label = getComputedStyle(c, "::before");
          return [label.display === "none" ? "" : label.content.replace(/^"|"$/g, ""),
                  c.innerText.trim()];  // innerText leaves the ::before out
        })"""
    )
    city, rep, status = headings["city"], headings["rep"], headings["status"]
    assert shown[0] == ["", "Konzum d.d."]  # the name heads the card, unlabelled
    shown = shown[1:]
    assert {label for label, _value in shown} >= {city, rep, status}
    for label, value in shown:
        assert label in headings.values(), (label, value)
        assert value, label  # an empty value is left out, not shown as a bare label
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
