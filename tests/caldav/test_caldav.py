"""CalDAV at /dav/ with the ``caldav`` client library over a real socket."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import caldav
import httpx
import pytest
from caldav.lib import error

from groupware.access import shares
from groupware.accounts.credentials import create_credential, revoke
from groupware.accounts.models import User
from groupware.accounts.passwords import hash_password
from groupware.caldav import store
from groupware.db import Database
from groupware.settings import Settings
from groupware.tasks import service as tasks
from groupware.tasks.models import Task
from tests import factories
from tests.conftest import LiveServer
from tests.factories import PASSWORD

UTC = dt.UTC


def client(
    live: LiveServer, username: str, password: str = PASSWORD, url: str = ""
) -> caldav.DAVClient:
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
        "weekly",
        "20261005T080000Z",
        "20261005T083000Z",
        "Tjedno",
        "RRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE:20261207T080000Z\n",
    )
    cal.save_event(weekly)
    found = cal.search(
        start=dt.datetime(2026, 11, 30, tzinfo=UTC),
        end=dt.datetime(2026, 12, 7, tzinfo=UTC),
        event=True,
        expand=False,
    )
    assert sorted(e.icalendar_component["uid"] for e in found) == ["one", "weekly"]
    excluded = cal.search(
        start=dt.datetime(2026, 12, 7, tzinfo=UTC),
        end=dt.datetime(2026, 12, 8, tzinfo=UTC),
        event=True,
        expand=False,
    )
    assert excluded == []


def test_sync_tokens_deliver_only_what_changed_and_what_was_deleted(
    alice: caldav.Principal,
) -> None:
    cal = alice.make_calendar(name="Sync", cal_id="sync")
    first = cal.save_event(event("a", "20261202T090000Z", "20261202T100000Z"))
    cal.save_event(event("b", "20261203T090000Z", "20261203T100000Z"))
    everything = cal.objects_by_sync_token(load_objects=True)
    assert len(list(everything)) == 2
    token = everything.sync_token
    cal.save_event(event("c", "20261204T090000Z", "20261204T100000Z"))
    first.delete()
    delta = cal.objects_by_sync_token(sync_token=token, load_objects=False)
    hrefs = sorted(str(o.url).rsplit("/", 1)[-1] for o in delta)
    assert hrefs == ["a.ics", "c.ics"]  # the new one, and the deleted one (gone)
    nothing = cal.objects_by_sync_token(sync_token=delta.sync_token, load_objects=False)
    assert list(nothing) == []


def test_an_unknown_sync_token_is_refused_so_the_client_starts_over(
    live: LiveServer, alice: caldav.Principal
) -> None:
    body = (
        '<sync-collection xmlns="DAV:"><sync-token>urn:x-groupware:sync:999:1</sync-token>'
        "<sync-level>1</sync-level><prop><getetag/></prop></sync-collection>"
    )
    response = httpx.request(
        "REPORT", live.url + "/dav/alice/calendar/", content=body, auth=("alice", PASSWORD)
    )
    assert response.status_code == 403 and "valid-sync-token" in response.text


def test_todos_are_stored_and_searched_apart_from_events(alice: caldav.Principal) -> None:
    tasks = next(c for c in alice.calendars() if c.get_display_name() == "CRM tasks")
    tasks.save_todo(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VTODO\nUID:t1\n"
        "DTSTAMP:20261101T090000Z\nDUE:20261205T160000Z\nSUMMARY:Nazvati Konzum\n"
        "END:VTODO\nEND:VCALENDAR\n"
    )
    todos = tasks.todos()
    assert [t.icalendar_component["summary"] for t in todos] == ["Nazvati Konzum"]
    assert tasks.events() == []


def test_a_colleague_sees_free_busy_only_and_cannot_write(
    live: LiveServer, committed: factories.Cast, alice: caldav.Principal
) -> None:
    cal = alice.calendar(name="Calendar")
    cal.save_event(event("private", "20261202T090000Z", "20261202T100000Z", "Liječnik"))
    url = str(cal.url)
    with client(live, "bob") as dav:
        theirs = dav.calendar(url=url)
        with pytest.raises(error.DAVError):
            theirs.events()  # the events themselves: refused
        with pytest.raises(error.DAVError):
            theirs.save_event(event("intruder", "20261203T090000Z", "20261203T100000Z"))
        busy = theirs.freebusy_request(
            dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2026, 12, 3, tzinfo=UTC)
        )
        text = busy.data
        assert "FREEBUSY" in text and "20261202T090000Z" in text
        assert "Liječnik" not in text


def test_wrong_passwords_and_app_passwords(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    with client(live, "alice", "wrong password") as dav, pytest.raises(error.AuthorizationError):
        dav.principal()
    with database.transaction(actor_id=None, channel="cli") as session:
        user = session.get(User, committed.alice.id)
        secret, _row = create_credential(session, user, kind="app_password", name="Thunderbird")
    with client(live, "alice", secret) as dav:
        assert dav.principal().calendars()


def test_discovery_from_the_well_known_address(live: LiveServer, committed: factories.Cast) -> None:
    response = httpx.request("PROPFIND", live.url + "/.well-known/caldav", follow_redirects=False)
    assert response.status_code == 301 and response.headers["location"] == "/dav/"


def test_a_client_cannot_steer_hrefs_with_x_script_name(
    live: LiveServer, committed: factories.Cast
) -> None:
    body = '<propfind xmlns="DAV:"><prop><current-user-principal/></prop></propfind>'
    response = httpx.request(
        "PROPFIND",
        live.url + "/dav/",
        content=body,
        headers={"Depth": "0", "X-Script-Name": "/evil"},
        auth=("alice", PASSWORD),
    )
    assert response.status_code == 207
    assert "/dav/alice/" in response.text and "/evil" not in response.text


def test_an_item_over_the_size_limit_is_refused(alice: caldav.Principal) -> None:
    cal = alice.calendar(name="Calendar")
    big = event(
        "big", "20261202T090000Z", "20261202T100000Z", extra="DESCRIPTION:" + "x" * 1_100_000 + "\n"
    )
    with pytest.raises(error.DAVError):
        cal.save_event(big)
    assert cal.events() == []


OVERRIDDEN = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:moved
DTSTAMP:20261101T090000Z
DTSTART:20261207T080000Z
DTEND:20261207T090000Z
RRULE:FREQ=WEEKLY
SUMMARY:Kolegij
END:VEVENT
BEGIN:VEVENT
UID:moved
DTSTAMP:20261101T090000Z
RECURRENCE-ID:20261214T080000Z
DTSTART:20261220T100000Z
DTEND:20261220T110000Z
SUMMARY:Kolegij (premješten)
END:VEVENT
END:VCALENDAR
"""


def _uids_between(cal: caldav.Calendar, start: dt.datetime, end: dt.datetime) -> list[str]:
    found = cal.search(start=start, end=end, event=True, expand=False)
    return sorted({e.icalendar_component["uid"] for e in found})


def test_a_moved_occurrence_and_an_endless_rule_are_found_where_they_fall(
    alice: caldav.Principal,
) -> None:
    cal = alice.make_calendar(name="Kolegij", cal_id="kolegij")
    cal.save_event(OVERRIDDEN)
    day = dt.timedelta(days=1)
    assert (
        _uids_between(
            cal, dt.datetime(2026, 12, 14, tzinfo=UTC), dt.datetime(2026, 12, 14, 12, tzinfo=UTC)
        )
        == []
    )
    assert _uids_between(
        cal, dt.datetime(2026, 12, 20, tzinfo=UTC), dt.datetime(2026, 12, 20, tzinfo=UTC) + day
    ) == ["moved"]
    assert _uids_between(
        cal, dt.datetime(2026, 12, 21, tzinfo=UTC), dt.datetime(2026, 12, 21, tzinfo=UTC) + day
    ) == ["moved"]
    # Beyond the listed occurrences (ten years ahead) the server still answers right.
    far = dt.datetime(2045, 3, 6, tzinfo=UTC)  # a Monday
    assert _uids_between(cal, far, far + day) == ["moved"]
    assert _uids_between(cal, far + day, far + 2 * day) == []


def test_a_crm_task_shows_in_the_client_and_completing_it_there_completes_it(
    live: LiveServer, committed: factories.Cast, database: Database, alice: caldav.Principal
) -> None:
    with database.transaction(actor_id=committed.dave.id, channel="web") as session:
        dave = committed.who(session, session.get(User, committed.dave.id))
        data = tasks.TaskIn(title="Pripremiti ponudu", assignee_id=committed.alice.id)
        task_id = tasks.create_task(session, dave, data).id
    crm = next(c for c in alice.calendars() if c.get_display_name() == "CRM tasks")
    (todo,) = crm.todos()
    assert todo.icalendar_component["summary"] == "Pripremiti ponudu"
    todo.complete()
    with database.transaction(actor_id=None, channel="cli") as session:
        task = session.get(Task, task_id)
        assert task is not None and task.status == "done" and task.progress == 100


def test_a_calendar_shared_to_read_or_write_opens_up_to_that(
    live: LiveServer, committed: factories.Cast, database: Database, alice: caldav.Principal
) -> None:
    cal = alice.calendar(name="Calendar")
    cal.save_event(event("shared", "20261202T090000Z", "20261202T100000Z", "Sajam"))
    url = str(cal.url)
    with database.transaction(actor_id=committed.alice.id, channel="web") as session:
        calendar = store.calendar_by_slug(session, committed.alice.id, "calendar")
        assert calendar is not None
        shares.share(session, calendar, by_user_id=committed.alice.id, user_id=committed.bob.id)
        shares.share(
            session, calendar, by_user_id=committed.alice.id, team_id=committed.south.id,
            permission="write",
        )  # fmt: skip
    with client(live, "bob") as dav:  # read; listed in his own home too
        listed = [str(c.url) for c in dav.principal().calendars()]
        assert url in listed
        theirs = dav.calendar(url=url)
        assert [e.icalendar_component["summary"] for e in theirs.events()] == ["Sajam"]
        with pytest.raises(error.DAVError):
            theirs.save_event(event("bobs", "20261203T090000Z", "20261203T100000Z"))
    with client(live, "charlie") as dav:  # write, through his team
        theirs = dav.calendar(url=url)
        theirs.save_event(event("charlies", "20261203T090000Z", "20261203T100000Z", "Dogovor"))
    assert sorted(e.icalendar_component["summary"] for e in cal.events()) == ["Dogovor", "Sajam"]


def test_wrong_passwords_from_the_same_address_never_lock_out_a_proven_login(
    committed: factories.Cast, database: Database, settings: Settings
) -> None:
    """Guessing from one address holds up new logins from there with 429 and
    ``Retry-After`` (not 401, on which a client asks for the password again), never
    a login already proven, nor an account that logged in from there before."""
    slow = LiveServer(dataclasses.replace(settings, login_first_delay_seconds=600), database)
    slow.start()
    try:
        with client(slow, "alice") as dav:
            assert dav.principal().calendars()  # alice's login is proven
            free = settings.login_free_failures_per_address
            for n in range(free + 2):  # then the address is full: the client is told to wait
                refusal = error.AuthorizationError if n < free else error.RateLimitError
                with client(slow, f"mallory{n}", "guess") as guess, pytest.raises(refusal):
                    guess.principal()
            assert dav.principal().calendars()  # alice goes on working
        for url in (f"{slow.url}/dav/", f"{slow.url}/freebusy/{committed.alice.email}.ifb"):
            method = "PROPFIND" if url.endswith("/dav/") else "GET"
            waiting = httpx.request(method, url, auth=("bob", PASSWORD))  # new from there
            assert waiting.status_code == 429, url
            assert 590 <= int(waiting.headers["retry-after"]) <= 600
            assert waiting.text.startswith("Too many failed logins; try again in ")
        with database.transaction(actor_id=None, channel="cli") as session:
            user = session.get_one(User, committed.alice.id)
            secret, _row = create_credential(session, user, kind="app_password", name="DAVx5")
        with client(slow, "alice", secret) as dav:  # a new login, from where alice logs in
            assert dav.principal().calendars()
    finally:
        slow.stop()


def test_a_revoked_app_password_or_a_changed_password_stops_at_once(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        user = session.get(User, committed.alice.id)
        secret, row = create_credential(session, user, kind="app_password", name="DAVx5")
        credential_id = row.id
    with client(live, "alice", secret) as dav:
        assert dav.principal().calendars()
        with database.transaction(actor_id=None, channel="cli") as session:
            revoke(session, committed.alice.id, credential_id)
        with pytest.raises(error.AuthorizationError):
            dav.principal().calendars()
    with client(live, "alice") as dav:
        assert dav.principal().calendars()
        with database.transaction(actor_id=None, channel="cli") as session:
            session.get(User, committed.alice.id).password_hash = hash_password("a new one 2026")
        with pytest.raises(error.AuthorizationError):
            dav.principal().calendars()
