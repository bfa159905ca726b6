"""The calendar store: occurrence lists, tombstones and sync revisions."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware.caldav import store
from groupware.caldav.models import FOREVER, OCCURRENCES_KEPT, CalendarOccurrence
from tests import factories

WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:w
DTSTAMP:20261101T090000Z
DTSTART:20261207T080000Z
DTEND:20261207T090000Z
RRULE:FREQ=WEEKLY{end}
SUMMARY:Kolegij
END:VEVENT
END:VCALENDAR
"""


def _occurrences(db: Session, item_id: int) -> int:
    query = select(func.count()).where(CalendarOccurrence.item_id == item_id)
    return int(db.scalar(query) or 0)


def test_a_bounded_rule_lists_every_occurrence_and_an_endless_one_stops_at_a_cap(
    db: Session, cast: factories.Cast
) -> None:
    calendar = store.ensure_defaults(db, cast.alice)[0]
    (bounded,) = store.parse_items(WEEKLY.format(end=";COUNT=10"))
    row = store.put_item(db, calendar, "w.ics", bounded)
    assert row.recurring and row.known_until == FOREVER
    assert _occurrences(db, row.id) == 10
    (endless,) = store.parse_items(WEEKLY.format(end=""))
    row = store.put_item(db, calendar, "w.ics", endless)
    # Weekly for the ten years ahead (or the cap, whichever comes first).
    listed = _occurrences(db, row.id)
    assert 500 < listed <= OCCURRENCES_KEPT
    assert row.known_until < FOREVER  # beyond it, Radicale's own check decides
    in_range = store.in_range(db, calendar.id, "VEVENT", row.known_until + 86400, FOREVER)
    assert [(r.href, certain) for r, certain in in_range] == [("w.ics", None)]


def test_deleting_leaves_a_tombstone_that_sync_reports_and_pruning_can_forget(
    db: Session, cast: factories.Cast
) -> None:
    calendar = store.ensure_defaults(db, cast.alice)[0]
    (item,) = store.parse_items(WEEKLY.format(end=";COUNT=3"))
    row = store.put_item(db, calendar, "w.ics", item)
    before = calendar.revision
    store.delete_item(db, calendar, "w.ics")
    assert store.live_items(db, calendar.id) == []
    assert _occurrences(db, row.id) == 0
    assert store.changed_since(db, calendar, before) == ["w.ics"]
    assert store.changed_since(db, calendar, calendar.revision) == []
    assert store.prune_tombstones(db, calendar, older_than=row.updated_at.replace(year=2100)) == 1
    with pytest.raises(ValueError, match="not known"):  # older than the tombstones reach
        store.changed_since(db, calendar, before)
