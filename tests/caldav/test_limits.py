"""What one user may store: calendars per user and the size of an item."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from groupware.caldav import store
from groupware.errors import Invalid
from tests import factories


def test_a_user_may_make_only_so_many_calendars_and_names_must_be_clean(
    db: Session, cast: factories.Cast
) -> None:
    limits = store.Limits(max_calendars=3)
    store.ensure_defaults(db, cast.alice)  # the personal calendar and the task list
    store.create_calendar(
        db, cast.alice.id, "projekti", {"D:displayname": "Projekti"}, limits=limits
    )
    with pytest.raises(Invalid) as caught:
        store.create_calendar(db, cast.alice.id, "jos-jedan", limits=limits)
    assert "slug" in caught.value.errors
    for bad in ("../x", "", "a/b", " razmak"):
        with pytest.raises(Invalid):
            store.create_calendar(db, cast.bob.id, bad)
    with pytest.raises(Invalid):
        store.create_calendar(db, cast.alice.id, "projekti")  # taken


def test_an_item_over_the_limit_is_refused_and_nothing_changes(
    db: Session, cast: factories.Cast
) -> None:
    calendar = store.ensure_defaults(db, cast.alice)[0]
    text = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//EN\nBEGIN:VEVENT\nUID:big\n"
        "DTSTAMP:20261101T090000Z\nDTSTART:20261202T090000Z\nDTEND:20261202T100000Z\n"
        f"SUMMARY:Velik\nDESCRIPTION:{'x' * 5000}\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    (item,) = store.parse_items(text)
    before = calendar.revision
    with pytest.raises(Invalid):
        store.put_item(db, calendar, "big.ics", item, limits=store.Limits(max_item_bytes=4096))
    assert store.live_items(db, calendar.id) == [] and calendar.revision == before
