"""Occupancy: busy times from events (recurrences expanded) and timed tasks, details
only for their owner, free slots for several people, and the free/busy URL."""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy.orm import Session

from groupware.caldav import occupancy, store
from groupware.db import Database
from groupware.tasks import service as tasks
from groupware.validation import validate
from tests import factories
from tests.conftest import LiveServer
from tests.factories import PASSWORD

UTC = dt.UTC
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


def put(
    db: Session, user: object, uid: str, start: str, end: str, summary: str, extra: str = ""
) -> None:
    calendar = store.ensure_defaults(db, user)[0]  # type: ignore[arg-type]
    (item,) = store.parse_items(
        EVENT.format(uid=uid, start=start, end=end, summary=summary, extra=extra)
    )
    store.put_item(db, calendar, f"{uid}.ics", item)


def test_busy_times_expand_recurrences_skip_transparent_and_hide_details_from_others(
    db: Session, cast: factories.Cast
) -> None:
    put(db, cast.alice, "weekly", "20261207T080000Z", "20261207T090000Z", "Kolegij",
        "RRULE:FREQ=WEEKLY;COUNT=4\nEXDATE:20261214T080000Z\n")  # fmt: skip
    put(
        db,
        cast.alice,
        "free",
        "20261208T120000Z",
        "20261208T130000Z",
        "Ručak",
        "TRANSP:TRANSPARENT\n",
    )
    put(db, cast.bob, "bobs", "20261209T100000Z", "20261209T110000Z", "Privatno")
    data = {"title": "Obilazak", "starts_at": "2026-12-10T10:00", "due_at": "2026-12-10T12:00"}
    tasks.create_task(db, cast.who(db, cast.alice), validate(tasks.TaskIn, data))
    start, end = dt.datetime(2026, 12, 7, tzinfo=UTC), dt.datetime(2026, 12, 28, tzinfo=UTC)
    seen = occupancy.busy(db, cast.alice.id, [cast.alice.id, cast.bob.id], start, end)
    mine = [(b.start.isoformat(), b.title, b.kind) for b in seen if b.user_id == cast.alice.id]
    assert mine == [
        ("2026-12-07T08:00:00+00:00", "Kolegij", "event"),
        ("2026-12-10T09:00:00+00:00", "Obilazak", "task"),  # 10:00 in Zagreb
        ("2026-12-21T08:00:00+00:00", "Kolegij", "event"),  # 14 Dec excluded
    ]
    bobs = [b for b in seen if b.user_id == cast.bob.id]
    assert [(b.start.isoformat(), b.title) for b in bobs] == [("2026-12-09T10:00:00+00:00", None)]


def test_free_slots_avoid_everybody_s_busy_times(db: Session, cast: factories.Cast) -> None:
    put(db, cast.alice, "a", "20261207T070000Z", "20261207T100000Z", "Sastanak")  # 8-11 local
    put(db, cast.bob, "b", "20261207T110000Z", "20261207T120000Z", "Poziv")  # 12-13 local
    slots = occupancy.free_slots(
        db, [cast.alice.id, cast.bob.id], dt.date(2026, 12, 7), 1, 60, "Europe/Zagreb", limit=3
    )
    local = [(s.strftime("%H:%M"), e.strftime("%H:%M")) for s, e in slots]
    assert local == [("11:00", "12:00"), ("13:00", "14:00"), ("14:00", "15:00")]


def test_the_free_busy_url_needs_a_login_and_shows_times_only(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    soon = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=2)
    stamp = soon.strftime("%Y%m%dT%H%M%SZ")
    later = (soon + dt.timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    with database.transaction(actor_id=None, channel="cli") as session:
        put(session, session.merge(committed.alice), "doc", stamp, later, "Liječnik")
    url = f"{live.url}/freebusy/{committed.alice.email}.ifb"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, auth=("bob", "wrong")).status_code == 401
    answer = httpx.get(url, auth=("bob", PASSWORD))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
    assert f"FREEBUSY:{stamp}/{later}" in answer.text and "Liječnik" not in answer.text
    assert (
        httpx.get(f"{live.url}/freebusy/nobody@x.hr.ifb", auth=("bob", PASSWORD)).status_code == 404
    )


def test_the_team_view_shows_colleagues_as_busy_and_finds_a_common_slot(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        put(
            session,
            session.merge(committed.alice),
            "a",
            "20261207T090000Z",
            "20261207T100000Z",
            "Prezentacija",
        )
        put(
            session,
            session.merge(committed.bob),
            "b",
            "20261207T130000Z",
            "20261207T140000Z",
            "Liječnik",
        )
    with factories.browser(live.url) as alice:
        factories.login(alice, "alice")
        page = alice.get(f"/occupancy?team_id={committed.north.id}&day=2026-12-07")
        assert page.status_code == 200
        assert "Prezentacija" in page.text and "Liječnik" not in page.text
        assert page.text.count(">busy<") >= 1
        week = alice.get(f"/occupancy?team_id={committed.north.id}&day=2026-12-07&view=week")
        assert week.status_code == 200 and "Prezentacija" in week.text
        people = f"user_id={committed.alice.id}&user_id={committed.bob.id}"
        query = f"{people}&minutes=60&day=2026-12-07&days=1"
        slots = alice.get(f"/occupancy/free-slot?{query}")
        assert slots.status_code == 200
        assert "08:00–09:00" in slots.text and "10:00–11:00" not in slots.text
        assert "14:00–15:00" not in slots.text  # bob at the doctor (14-15 local)
        bad = alice.get("/occupancy/free-slot?minutes=5&day=x&days=99")
        assert bad.status_code == 422


def test_a_shared_calendar_shows_its_titles_to_those_it_is_shared_with(
    db: Session, cast: factories.Cast
) -> None:
    from groupware.access import shares

    put(db, cast.alice, "p", "20261209T100000Z", "20261209T110000Z", "Sajam")
    calendar = store.ensure_defaults(db, cast.alice)[0]
    shares.share(db, calendar, by_user_id=cast.alice.id, team_id=cast.south.id)
    week = (dt.datetime(2026, 12, 7, tzinfo=UTC), dt.datetime(2026, 12, 14, tzinfo=UTC))
    seen_by = {
        u.username: occupancy.busy(db, u.id, [cast.alice.id], *week)
        for u in (cast.charlie, cast.bob)
    }
    assert [b.title for b in seen_by["charlie"]] == ["Sajam"]  # south: shared
    assert [b.title for b in seen_by["bob"]] == [None]  # north: busy only
