"""One activity stream per record (groupware.stream): every declared source merged in
time order, filters by kind, pages that continue exactly, and only what the reader may
see. The sources are the real ones: notes and calls, a meeting linked in a calendar,
a task, mail filed by a filing address, and the partner's own changes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from groupware import stream, wiring
from groupware.access import shares
from groupware.access.policy import SYSTEM
from groupware.activities.service import ActivityIn, add_activity
from groupware.caldav import meetings, store
from groupware.crm.partners import set_reps
from groupware.errors import Invalid, NotFound
from groupware.history.models import Change
from groupware.mail import compose
from groupware.mail.models import MailMessage
from groupware.settings import Settings
from groupware.stream import Cursor, StreamSource, Target, Window
from groupware.tasks import service as tasks
from groupware.tasks.models import Task
from groupware.wiring import Area
from tests.factories import Cast, make_partner

UTC = dt.UTC


def at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=UTC)


@dataclass
class Partner:
    row: Any
    target: Target


@pytest.fixture
def konzum(db: Session, cast: Cast) -> Partner:
    """Alice's partner (dave, her team's lead, sees it; bob and charlie do not)."""
    row = make_partner(db, SYSTEM, "Konzum d.d.")
    set_reps(db, row, owner_id=cast.alice.id, rep_ids=[])
    db.flush()
    return Partner(row, Target("partners", row.id, row))


def note(db: Session, cast: Cast, partner: Any, when: dt.datetime, kind: str = "note") -> int:
    data = ActivityIn(kind=kind, body=f"{kind} {when:%d %H}", occurred_at=when)  # type: ignore[arg-type]
    return add_activity(db, cast.who(db, cast.alice), "partners", partner.id, data).id


def meeting(db: Session, cast: Cast, partner: Any, when: dt.datetime, *, private: bool = False):  # type: ignore[no-untyped-def]
    calendar = store.ensure_defaults(db, cast.alice)[0]
    stamp = when.strftime("%Y%m%dT%H%M%SZ")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:m-{stamp}@t\r\nDTSTAMP:{stamp}\r\nDTSTART:{stamp}\r\nDTEND:{stamp}\r\n"
        f"SUMMARY:Sastanak {when:%d}\r\n{'CLASS:PRIVATE' + chr(13) + chr(10) if private else ''}"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    (item,) = store.parse_items(ics)
    row = store.put_item(db, calendar, f"m-{stamp}.ics", item)
    meetings.set_links(db, row, [("partners", partner.id)])
    return row


def kinds(page: stream.Page) -> list[tuple[str, dt.datetime]]:
    return [(item.kind, item.at) for item in page.items]


def test_it_merges_every_kind_of_the_record_newest_first_and_filters_by_kind(
    db: Session, cast: Cast, konzum: Partner, settings: Settings
) -> None:
    partner = konzum.row
    alice = cast.who(db, cast.alice)
    note(db, cast, partner, at(1))
    note(db, cast, partner, at(3), "call")
    meeting(db, cast, partner, at(5))
    task = tasks.create_task(db, alice, tasks.TaskIn(title="Ponuda", partner_id=partner.id))
    db.execute(update(Task).where(Task.id == task.id).values(created_at=at(2)))
    mail = compose.MailIn(to=f"partner-{partner.id}@{settings.mail_domain}", subject="Cjenik")
    sent = compose.send(db, cast.alice, mail, settings)
    db.execute(update(MailMessage).where(MailMessage.id == sent.id).values(received_at=at(4)))
    db.execute(
        update(Change)
        .where(Change.record_type == "partners", Change.record_id == partner.id)
        .values(at=at(6))
    )
    db.expire_all()

    page = stream.read(db, alice, konzum.target)
    found = kinds(page)
    assert found[0] == ("change", at(6))  # the partner's own changes, moved to the 6th
    assert [k for k, _a in found if k != "change"] == ["meeting", "mail", "call", "task", "note"]
    assert [a for _k, a in found] == sorted((a for _k, a in found), reverse=True)
    assert {k for k, _a in found} == {"note", "call", "meeting", "task", "mail", "change"}
    assert page.next is None
    mail_item = next(i for i in page.items if i.kind == "mail")
    assert mail_item.title == "Cjenik" and mail_item.author

    only = stream.read(db, alice, konzum.target, kinds=["call", "meeting"])
    assert kinds(only) == [("meeting", at(5)), ("call", at(3))]
    # Kinds nobody declared are no filter at all.
    assert len(stream.read(db, alice, konzum.target, kinds=["nonsense"]).items) == len(found)
    # A task page's stream has no tasks or mail of its own to filter by.
    assert {s.kind for s in stream.sources("tasks")} == {"note", "call", "meeting", "change"}
    assert {s.kind for s in stream.sources("partners")} >= {"task", "mail"}


def test_pages_continue_exactly_where_the_last_one_ended_across_sources(
    db: Session, cast: Cast, konzum: Partner
) -> None:
    """Items of different sources at the very same time are neither lost nor repeated
    between pages, in either direction."""
    partner = konzum.row
    alice = cast.who(db, cast.alice)
    for _n in range(3):
        note(db, cast, partner, at(7))
        note(db, cast, partner, at(7), "call")
    meeting(db, cast, partner, at(7))
    note(db, cast, partner, at(8))
    expected = kinds(stream.read(db, alice, konzum.target, kinds=["note", "call", "meeting"]))
    assert len(expected) == 8
    seen: list[tuple[str, int]] = []
    window = Window(limit=3)
    while True:
        page = stream.read(
            db, alice, konzum.target, kinds=["note", "call", "meeting"], window=window
        )
        seen += [(i.kind, i.ident) for i in page.items]
        if page.next is None:
            break
        assert Cursor.parse(page.next.text()) == page.next
        window = Window(limit=3, before=page.next)
    assert len(seen) == len(set(seen)) == 8
    whole = stream.read(db, alice, konzum.target, kinds=["note", "call", "meeting"])
    assert seen == [(i.kind, i.ident) for i in whole.items]
    # Newer than an item: what came after it, oldest of them first in the window.
    middle = whole.items[4].cursor
    newer = stream.read(db, alice, konzum.target, kinds=["note", "call", "meeting"],
                        window=Window(limit=2, after=middle))  # fmt: skip
    assert [(i.kind, i.ident) for i in newer.items] == seen[2:4]


def test_a_cursor_is_read_back_exactly_and_a_made_up_one_refused() -> None:
    cursor = Cursor(dt.datetime(2026, 12, 9, 10, 0, 0, 123456, tzinfo=UTC), "note", 7)
    assert Cursor.parse(cursor.text()) == cursor
    too_far = "999999999999999999.note.1"  # past the year 9999
    for bad in ("", "abc", "1.note", "1.NOTE.2", "1.note.-1", "1.note.9999999999", too_far):
        with pytest.raises(Invalid):
            Cursor.parse(bad)


def test_a_record_named_in_a_form_is_a_type_and_an_id_that_fits() -> None:
    assert stream.parse_key("persons:5") == ("persons", 5)
    for bad in ("persons", "persons:", "Persons:5", "persons:5x", "persons:9999999999", ":5"):
        assert stream.parse_key(bad) is None
    assert stream.page_of("partners:7") == "/partners/7"
    assert stream.page_of("//evil.example") == stream.page_of("users:x") == ""


def test_the_record_is_loaded_for_the_reader_and_must_have_a_stream(
    db: Session, cast: Cast, konzum: Partner
) -> None:
    partner = konzum.row
    note(db, cast, partner, at(1))
    assert stream.target(db, cast.who(db, cast.dave), "partners", partner.id).record is partner
    for user in (cast.bob, cast.charlie):
        with pytest.raises(NotFound):
            stream.target(db, cast.who(db, user), "partners", partner.id)
    with pytest.raises(NotFound):  # a record type without a stream
        stream.target(db, SYSTEM, "users", cast.alice.id)
    with pytest.raises(NotFound):
        stream.target(db, SYSTEM, "no_such_type", 1)
    # A stream shows a partner's tasks only to those who may see each task: bob, with
    # the partner shared with him, does not see alice's own task on it.
    alice = cast.who(db, cast.alice)
    tasks.create_task(db, alice, tasks.TaskIn(title="Alicein zadatak", partner_id=partner.id))
    shares.share(db, partner, by_user_id=cast.alice.id, user_id=cast.bob.id)
    titles = {
        user.username: {i.title for i in stream.read(db, cast.who(db, user), konzum.target).items}
        for user in (cast.alice, cast.dave, cast.bob)
    }
    assert "Alicein zadatak" in titles["alice"] and "Alicein zadatak" in titles["dave"]
    assert "Alicein zadatak" not in titles["bob"]
    bobs = stream.read(db, cast.who(db, cast.bob), konzum.target).items
    assert [i.text for i in bobs if i.kind == "note"] == ["note 01 09"]


def test_an_area_adds_a_kind_by_declaring_a_source(
    db: Session, cast: Cast, konzum: Partner
) -> None:
    def visits(session: Session, who: Any, on: Target, window: Window) -> list[stream.StreamItem]:
        item = stream.StreamItem(at(20) + dt.timedelta(days=400), "visit", 1, "Obilazak")
        return [item] if window.admits(item) else []

    extra = Area("test", stream_sources=(StreamSource("visit", "Visits", "visit", visits),))
    with wiring.extended(extra):
        page = stream.read(db, cast.who(db, cast.alice), konzum.target)
        assert page.items[0].title == "Obilazak"
        assert "visit" in {s.kind for s in stream.sources("deals")}
    again = Area("again", stream_sources=extra.stream_sources)
    with pytest.raises(ValueError, match="stream source"):
        wiring.gather((*wiring.current().areas, extra, again))
