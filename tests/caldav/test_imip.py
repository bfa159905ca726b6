"""Invitations by mail (iMIP) applied to internal recipients' calendars."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from groupware.caldav import imip, occupancy, store
from groupware.errors import Invalid
from tests import factories

INVITE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
METHOD:{method}
BEGIN:VEVENT
UID:meeting-1@partner.hr
DTSTAMP:20261101T090000Z
SEQUENCE:{sequence}
DTSTART:20261210T090000Z
DTEND:20261210T100000Z
SUMMARY:{summary}
ORGANIZER:mailto:{organizer}
ATTENDEE;PARTSTAT={partstat}:mailto:{attendee}
END:VEVENT
END:VCALENDAR
"""


def invite(method: str, organizer: str, attendee: str, **values: str) -> str:
    fields = {"sequence": "0", "summary": "Pregovori", "partstat": "NEEDS-ACTION", **values}
    return INVITE.format(method=method, organizer=organizer, attendee=attendee, **fields)


def _items(db: Session, user: object) -> list[str]:
    calendar = store.ensure_defaults(db, user)[0]  # type: ignore[arg-type]
    return [row.ics or "" for row in store.live_items(db, calendar.id)]


def test_request_reply_and_cancel(db: Session, cast: factories.Cast) -> None:
    alice, bob = cast.alice, cast.bob
    request = invite("REQUEST", alice.email, bob.email)
    assert [a.action for a in imip.apply(db, request, [bob])] == ["added"]
    (copy,) = _items(db, bob)
    assert "Pregovori" in copy and "METHOD" not in copy
    older = invite("REQUEST", alice.email, bob.email, summary="Stari naslov", sequence="0")
    newer = invite("REQUEST", alice.email, bob.email, summary="Novi naslov", sequence="2")
    assert imip.apply(db, newer, [bob])[0].action == "updated"
    assert (
        imip.apply(db, invite("REQUEST", alice.email, bob.email, sequence="1"), [bob])[0].action
        == "ignored"
    )
    assert "Novi naslov" in _items(db, bob)[0] and older
    # Alice organised it: her copy learns bob's answer.
    imip.apply(db, invite("REQUEST", alice.email, bob.email, sequence="2"), [alice])
    reply = invite("REPLY", alice.email, bob.email, partstat="ACCEPTED", sequence="2")
    assert imip.apply(db, reply, [alice])[0].action == "replied"
    assert "PARTSTAT=ACCEPTED" in _items(db, alice)[0]
    # Cancelled: it stays, marked, and no longer counts as busy.
    import datetime as dt

    week = (dt.datetime(2026, 12, 7, tzinfo=dt.UTC), dt.datetime(2026, 12, 14, tzinfo=dt.UTC))
    assert occupancy.busy(db, bob.id, [bob.id], *week)
    assert (
        imip.apply(db, invite("CANCEL", alice.email, bob.email, sequence="3"), [bob])[0].action
        == "cancelled"
    )
    assert "STATUS:CANCELLED" in _items(db, bob)[0]
    assert occupancy.busy(db, bob.id, [bob.id], *week) == []


def test_a_part_without_a_method_or_not_icalendar_is_refused(
    db: Session, cast: factories.Cast
) -> None:
    with pytest.raises(Invalid):
        imip.apply(db, "not a calendar", [cast.bob])
    no_method = invite("REQUEST", cast.alice.email, cast.bob.email).replace("METHOD:REQUEST\n", "")
    with pytest.raises(Invalid):
        imip.apply(db, no_method, [cast.bob])
    assert _items(db, cast.bob) == []
