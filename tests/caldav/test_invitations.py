"""The iMIP message that invites a colleague: people read what, when and where; their
calendars read the event with its METHOD, delivered through the internal mail."""

from __future__ import annotations

import email
import email.policy

from sqlalchemy.orm import Session

from groupware.caldav import invitations, store
from groupware.caldav.models import CalendarItem
from groupware.i18n import use_language
from groupware.settings import Settings
from tests.factories import Cast

EVENT = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:pregovori@t\r\n"
    "DTSTAMP:20261201T090000Z\r\nDTSTART:20261210T090000Z\r\nDTEND:20261210T100000Z\r\n"
    "SUMMARY:Pregovori\r\nLOCATION:Konzum\\, Zagreb\r\nDESCRIPTION:Cijene\r\n"
    "ORGANIZER;CN=Alice:mailto:{alice}\r\nATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:{bob}\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def _event(db: Session, cast: Cast) -> CalendarItem:
    calendar = store.ensure_defaults(db, cast.alice)[0]
    text = EVENT.format(alice=cast.alice.email, bob=cast.bob.email)
    return store.put_item(db, calendar, "pregovori.ics", store.parse_items(text)[0])


def test_the_invitation_reads_as_mail_and_as_a_calendar_request(
    db: Session, cast: Cast, settings: Settings
) -> None:
    row = _event(db, cast)
    with use_language("hr", "Europe/Zagreb"):
        raw = invitations._invitation(cast.alice, row, "REQUEST", [cast.bob.email], settings)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == "Poziv: Pregovori (10.12.2026. 10:00)"
    assert message["To"] == cast.bob.email and cast.alice.email in message["From"]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Alice vas poziva: Pregovori." in text and "Gdje: Konzum, Zagreb" in text
    calendar = message.get_body(("calendar",))
    assert calendar is not None and calendar.get_param("method") == "REQUEST"
    assert "METHOD:REQUEST" in calendar.get_content()
    assert raw.count(b"\r\n") > 10  # sent as SMTP writes it


def test_a_colleague_taken_off_gets_the_event_cancelled_in_their_calendar(
    db: Session, cast: Cast, settings: Settings
) -> None:
    row = _event(db, cast)
    invitations.send_invitations(db, cast.alice, row, settings, invite=[cast.bob.email])
    bobs = store.ensure_defaults(db, cast.bob)[0]
    (copy,) = store.live_items(db, bobs.id)
    assert "SUMMARY:Pregovori" in (copy.ics or "") and "CANCELLED" not in (copy.ics or "")
    invitations.send_invitations(db, cast.alice, row, settings, invite=[], cancel=[cast.bob.email])
    (copy,) = store.live_items(db, bobs.id)
    assert "STATUS:CANCELLED" in (copy.ics or "")
