"""CalDAV at /dav/ with the ``caldav`` client library over a real socket."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import caldav
import pytest
from caldav.lib import error

from tests import factories
from tests.conftest import LiveServer
from tests.factories import PASSWORD

UTC = dt.UTC


def client(live: LiveServer, username: str, password: str = PASSWORD, url: str = "") -> caldav.DAVClient:
    return caldav.DAVClient(
        url=url or live.url + "/",
        username=username,
        password=password,
        require_tls=False,
        enable_rfc6764=False,
    )


@pytest.fixture
def alice(live: LiveServer, committed: factories.Cast) -> Iterator[caldav.Principal]:
    with client(live, "alice") as dav:
        yield dav.principal()


EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20261101T090000Z
DTSTART:{start}
DTEND:{end}
SUMMARY:{summary}
{extra}END:VEVENT
END:VCALENDAR
"""


def event(uid: str, start: str, end: str, summary: str = "Sastanak", extra: str = "") -> str:
    return EVENT.format(uid=uid, start=start, end=end, summary=summary, extra=extra)


def test_a_client_with_only_the_server_url_finds_its_calendars(alice: caldav.Principal) -> None:
    names = sorted(c.get_display_name() for c in alice.calendars())
    assert names == ["CRM tasks", "Calendar"]


def test_events_round_trip_and_a_week_query_finds_recurrences_and_overrides(
    alice: caldav.Principal,
) -> None:
    cal = alice.make_calendar(name="Prodaja", cal_id="prodaja")
    cal.save_event(event("one", "20261202T090000Z", "20261202T100000Z", "Jednom"))
    cal.save_event(event("far", "20270302T090000Z", "20270302T100000Z", "Daleko"))
    weekly = event(
        "weekly", "20261005T080000Z", "20261005T083000Z", "Tjedno",
        "RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE:20261207T080000Z\n",
    )
    cal.save_event(weekly)
    found = cal.search(
        start=dt.datetime(2026, 11, 30, tzinfo=UTC), end=dt.datetime(2026, 12, 7, tzinfo=UTC),
        event=True, expand=False,
    )
    assert sorted(e.icalendar_component["uid"] for e in found) == ["one", "weekly"]
    excluded = cal.search(
        start=dt.datetime(2026, 12, 7, tzinfo=UTC), end=dt.datetime(2026, 12, 8, tzinfo=UTC),
        event=True, expand=False,
    )
    assert excluded == []
