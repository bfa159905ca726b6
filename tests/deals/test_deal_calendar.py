"""A deal's phase deadline as a to-do in its owner's CRM task list."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from groupware.caldav import store
from groupware.deals.service import (
    ActivityIn,
    CloseIn,
    add_activity,
    close_deal,
    move_deal,
    phases_of,
    reopen_deal,
)
from tests.deals.conftest import START, Setup, new_deal


def _todo(db: Session, deal_id: int) -> tuple[int, str] | None:
    rows = store.item_by_source(db, f"deal:{deal_id}")
    assert len(rows) <= 1
    return (rows[0].calendar.owner_id, rows[0].ics or "") if rows else None


def test_the_phase_deadline_follows_the_deal(db: Session, setup: Setup) -> None:
    cast = setup.cast
    deal = new_deal(db, setup, title="Blagajne")
    owner, ics = _todo(db, deal.id) or (0, "")
    assert owner == cast.alice.id
    assert "SUMMARY:Qualify: Blagajne" in ics and f"DUE;VALUE=DATE:{deal.phase_due:%Y%m%d}" in ics
    offer = phases_of(db, deal)[1]
    move_deal(db, cast.who(db, cast.alice), deal.id, offer.id, START)
    assert "SUMMARY:Offer: Blagajne" in (_todo(db, deal.id) or (0, ""))[1]
    close_deal(db, cast.who(db, cast.alice), deal.id, CloseIn(status="won"))
    assert _todo(db, deal.id) is None  # closed: gone from the list
    reopen_deal(db, cast.who(db, cast.alice), deal.id)
    assert _todo(db, deal.id) is not None


def test_a_meeting_on_a_deal_is_in_the_calendar_and_moving_it_there_moves_it(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    deal = new_deal(db, setup, title="Blagajne")
    when = dt.datetime(2026, 12, 9, 10, 0, tzinfo=dt.UTC)
    data = ActivityIn(kind="meeting", text="Sastanak s nabavom\nDnevni red: cijene", at=when)
    meeting = add_activity(db, cast.who(db, cast.alice), deal.id, data)
    (row,) = store.item_by_source(db, f"meeting:{meeting.id}")
    assert row.calendar.owner_id == cast.alice.id and row.calendar.kind == "personal"
    assert "SUMMARY:Blagajne: Sastanak s nabavom" in (row.ics or "")
    moved = (row.ics or "").replace("DTSTART:20261209T100000Z", "DTSTART:20261210T140000Z")
    moved = moved.replace("DTEND:20261209T110000Z", "DTEND:20261210T150000Z")
    (item,) = store.parse_items(moved)
    store.put_item(db, row.calendar, row.href, item)  # as a calendar program does
    assert meeting.at == dt.datetime(2026, 12, 10, 14, 0, tzinfo=dt.UTC)
    note = add_activity(db, cast.who(db, cast.alice), deal.id, ActivityIn(text="Samo bilješka"))
    assert store.item_by_source(db, f"meeting:{note.id}") == []
