"""Private events and what colleagues see of a calendar: a private event (CLASS other
than PUBLIC) reaches those the calendar is shared with as busy time only, over CalDAV,
in the web calendar and in occupancy, and nobody but its owner can change it; a
colleague without a share sees of a home only what free/busy needs.

The cast: alice owns; bob reads what she shares with him; charlie writes through his
team South; dave has no share."""

from __future__ import annotations

import datetime as dt

import caldav
import httpx
import pytest
from caldav.lib import error
from sqlalchemy.orm import Session

from groupware.caldav import occupancy, store
from groupware.caldav.models import Calendar
from groupware.db import Database
from tests import factories
from tests.caldav.test_caldav import client, event
from tests.caldav.test_calendar_web import personal_calendar, put, share_with, week_column
from tests.conftest import LiveServer, LoginAs
from tests.factories import PASSWORD

UTC = dt.UTC
SECRET = "CLASS:PRIVATE\nLOCATION:Klinika Sveti Duh\nDESCRIPTION:Kontrola nakon operacije\n"
SECRETS = ("Liječnik", "Klinika", "operacije", "Tajni sastanak", "Vukovarska")


def private_event(uid: str = "doctor", day: str = "20261202") -> str:
    extra = (
        SECRET + "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Liječnik\nTRIGGER:-PT5M\nEND:VALARM\n"
    )
    return event(uid, f"{day}T090000Z", f"{day}T100000Z", "Liječnik", extra)


CONFIDENTIAL = event(
    "board",
    "20261203T130000Z",
    "20261203T140000Z",
    "Tajni sastanak",
    "CLASS:CONFIDENTIAL\nLOCATION:Vukovarska 1\nRRULE:FREQ=WEEKLY;COUNT=3\n",
)
PUBLIC = event("fair", "20261204T090000Z", "20261204T100000Z", "Sajam", "LOCATION:Velesajam\n")


@pytest.fixture
def shared(committed: factories.Cast, database: Database) -> Calendar:
    """Alice's calendar with a private, a confidential (weekly) and a public event,
    shared with bob to read and with team South (charlie) to write."""
    calendar = personal_calendar(database, committed.alice)
    put(database, calendar, "doctor.ics", private_event())
    put(database, calendar, "board.ics", CONFIDENTIAL)
    put(database, calendar, "fair.ics", PUBLIC)
    share_with(database, calendar, committed.alice, "read", user=committed.bob)
    share_with(database, calendar, committed.alice, "write", team=committed.south)
    return calendar


def url_of(live: LiveServer, href: str = "") -> str:
    return f"{live.url}/dav/alice/calendar/{href}"


def by_uid(cal: caldav.Calendar) -> dict[str, str]:
    return {str(e.icalendar_component["uid"]): e.data for e in cal.events()}


def test_those_it_is_shared_with_see_a_private_event_as_busy_time_only(
    live: LiveServer, shared: Calendar
) -> None:
    with client(live, "bob") as dav:
        seen = by_uid(dav.calendar(url=url_of(live)))
        week = dav.calendar(url=url_of(live)).search(
            start=dt.datetime(2026, 12, 9, tzinfo=UTC),
            end=dt.datetime(2026, 12, 11, tzinfo=UTC),
            event=True,
            expand=False,
        )
    assert sorted(seen) == ["board", "doctor", "fair"]
    for uid in ("doctor", "board"):
        assert "SUMMARY:Busy" in seen[uid]
        assert not any(secret in seen[uid] for secret in SECRETS), seen[uid]
        assert "VALARM" not in seen[uid]
    assert (
        "DTSTART:20261202T090000Z" in seen["doctor"] and "DTEND:20261202T100000Z" in seen["doctor"]
    )
    assert "RRULE:FREQ=WEEKLY;COUNT=3" in seen["board"]
    assert "SUMMARY:Sajam" in seen["fair"] and "LOCATION:Velesajam" in seen["fair"]
    # The repetition works for them too: the second week of the confidential meeting.
    assert [str(e.icalendar_component["uid"]) for e in week] == ["board"]
    assert "Tajni sastanak" not in week[0].data
    with client(live, "alice") as dav:  # the owner sees all of it
        own = by_uid(dav.calendar(url=url_of(live)))
    assert "SUMMARY:Liječnik" in own["doctor"] and "Klinika Sveti Duh" in own["doctor"]


def test_a_search_for_what_a_private_event_says_finds_nothing(
    live: LiveServer, shared: Calendar
) -> None:
    query = (
        '<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">'
        "<D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter>"
        '<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
        '<C:prop-filter name="LOCATION"><C:text-match>Klinika</C:text-match></C:prop-filter>'
        "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
    )
    found = httpx.request(
        "REPORT", url_of(live), content=query, auth=("bob", PASSWORD), headers={"Depth": "1"}
    )
    assert found.status_code == 207 and "doctor" not in found.text
    own = httpx.request(
        "REPORT", url_of(live), content=query, auth=("alice", PASSWORD), headers={"Depth": "1"}
    )
    assert "doctor.ics" in own.text


def test_a_sharee_who_may_write_cannot_overwrite_move_or_delete_a_private_event(
    live: LiveServer, shared: Calendar, committed: factories.Cast
) -> None:
    charlie = ("charlie", PASSWORD)
    copy = httpx.get(url_of(live, "doctor.ics"), auth=charlie)
    assert copy.status_code == 200 and "Liječnik" not in copy.text
    # The copy written back as it came, and changed as a client would change it.
    for text in (copy.text, copy.text.replace("T090000Z", "T080000Z")):
        back = httpx.put(
            url_of(live, "doctor.ics"),
            content=text,
            auth=charlie,
            headers={"Content-Type": "text/calendar", "If-Match": copy.headers["ETag"]},
        )
        assert back.status_code == 403 and "private" in back.text
    deleted = httpx.delete(url_of(live, "doctor.ics"), auth=charlie)
    assert deleted.status_code == 403 and "private" in deleted.text
    httpx.request("PROPFIND", f"{live.url}/dav/charlie/", auth=charlie)  # his home is made
    moved = httpx.request(
        "MOVE",
        url_of(live, "doctor.ics"),
        auth=charlie,
        headers={"Destination": f"{live.url}/dav/charlie/calendar/doctor.ics"},
    )
    assert moved.status_code == 403
    # Nor may the calendar be replaced whole or deleted by someone it is shared with.
    whole = httpx.put(
        url_of(live), content=PUBLIC, auth=charlie, headers={"Content-Type": "text/calendar"}
    )
    assert whole.status_code == 403
    assert httpx.delete(url_of(live), auth=charlie).status_code == 403
    # What is not private they may still change; the private event is whole.
    changed = httpx.put(
        url_of(live, "fair.ics"), content=PUBLIC.replace("Sajam", "Sajam 2"), auth=charlie
    )
    assert changed.status_code == 204
    with client(live, "alice") as dav:
        own = by_uid(dav.calendar(url=url_of(live)))
    assert sorted(own) == ["board", "doctor", "fair"]
    assert "SUMMARY:Liječnik" in own["doctor"] and "DTSTART:20261202T090000Z" in own["doctor"]
    assert "Klinika Sveti Duh" in own["doctor"] and "VALARM" in own["doctor"]
    with client(live, "charlie") as dav:
        assert dav.calendar(url=f"{live.url}/dav/charlie/calendar/").events() == []


def test_a_private_event_shows_as_busy_in_the_web_calendar_of_those_it_is_shared_with(
    login_as_without_token: LoginAs, shared: Calendar
) -> None:
    for name in ("bob", "charlie"):
        week = login_as_without_token(name).get("/calendar/week?week=2026-12-02")
        column = week_column(week.text, "2026-12-02")
        assert "Busy" in column
        assert not any(secret in week.text for secret in SECRETS), name
        assert "Sajam" in week_column(week.text, "2026-12-04")
    charlie = login_as_without_token("charlie")
    form = charlie.get(f"/calendar/events/{shared.id}/doctor.ics")
    assert form.status_code == 404 and "Liječnik" not in form.text
    assert charlie.get(f"/calendar/events/{shared.id}/fair.ics").status_code == 200
    alice = login_as_without_token("alice").get("/calendar/week?week=2026-12-02")
    assert "Liječnik" in week_column(alice.text, "2026-12-02")


def test_occupancy_shows_a_private_event_without_its_title_to_those_it_is_shared_with(
    db: Session, cast: factories.Cast
) -> None:
    from groupware.access import shares

    calendar = store.ensure_defaults(db, cast.alice)[0]
    for href, text in (("doctor.ics", private_event()), ("fair.ics", PUBLIC)):
        store.put_item(db, calendar, href, store.parse_items(text)[0])
    shares.share(db, calendar, by_user_id=cast.alice.id, user_id=cast.bob.id)
    start, end = dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2026, 12, 8, tzinfo=UTC)

    def titles(viewer: int) -> list[str | None]:
        return [b.title for b in occupancy.busy(db, viewer, [cast.alice.id], start, end)]

    assert titles(cast.bob.id) == [None, "Sajam"]
    assert titles(cast.alice.id) == ["Liječnik", "Sajam"]
    assert titles(cast.dave.id) == [None, None]


def test_a_colleague_without_a_share_sees_only_what_free_busy_needs_of_a_home(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    calendar = personal_calendar(database, committed.alice)
    with database.transaction(actor_id=None, channel="cli") as session:
        row = session.get(Calendar, calendar.id)
        assert row is not None
        meta = {"D:displayname": "Razgovori za posao", "ICAL:calendar-color": "#ff0000"}
        store.set_meta(row, {**meta, "C:calendar-description": "Tajno"})
    # A calendar of dave's shared with alice is listed in her own home, not to others.
    dave_calendar = personal_calendar(database, committed.dave)
    share_with(database, dave_calendar, committed.dave, "read", user=committed.alice)
    body = '<propfind xmlns="DAV:" xmlns:CS="http://calendarserver.org/ns/"><allprop/></propfind>'

    def listing() -> str:
        answer = httpx.request(
            "PROPFIND", f"{live.url}/dav/alice/", content=body,
            auth=("bob", PASSWORD), headers={"Depth": "1"},
        )  # fmt: skip
        assert answer.status_code == 207
        return answer.text

    before = listing()
    put(database, calendar, "new.ics", event("new", "20261202T090000Z", "20261202T100000Z", "Novi"))
    after = listing()
    assert before == after  # nothing in it tells that the calendar changed
    for hidden in (
        "Razgovori",
        "#ff0000",
        "Tajno",
        "x-groupware:sync",
        "/dav/dave/",
        "/dav/alice/tasks/",
    ):
        assert hidden not in after, hidden
    assert "/dav/alice/calendar/" in after
    with client(live, "bob") as dav:  # free/busy still answers
        theirs = dav.calendar(url=f"{live.url}/dav/alice/calendar/")
        busy = theirs.freebusy_request(
            dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2026, 12, 3, tzinfo=UTC)
        )
        assert "20261202T090000Z" in busy.data and "Novi" not in busy.data
    with client(live, "alice") as dav:  # the owner's own listing is whole
        names = sorted(c.get_display_name() for c in dav.principal().calendars())
    assert "Razgovori za posao" in names and len(names) == 3


def test_a_sharee_may_still_add_to_the_calendar_and_the_owner_may_change_a_private_event(
    live: LiveServer, shared: Calendar
) -> None:
    made = httpx.put(
        url_of(live, "charlies.ics"),
        content=event("charlies", "20261205T090000Z", "20261205T100000Z", "Dogovor"),
        auth=("charlie", PASSWORD),
    )
    assert made.status_code == 201
    with client(live, "alice") as dav:
        mine = dav.calendar(url=url_of(live))
        doctor = mine.event_by_uid("doctor")
        doctor.data = doctor.data.replace("Liječnik", "Zubar")
        doctor.save()
    assert "SUMMARY:Zubar" in httpx.get(url_of(live, "doctor.ics"), auth=("alice", PASSWORD)).text
    with pytest.raises(error.DAVError), client(live, "bob") as dav:  # to read only
        dav.calendar(url=url_of(live)).save_event(
            event("bobs", "20261206T090000Z", "20261206T100000Z")
        )
