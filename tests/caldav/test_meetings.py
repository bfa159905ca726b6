"""Meetings: events linked to CRM records and colleagues invited to them. Scheduled from
a partner's page, a meeting is in the partner's and the deal's stream and in the
invited colleague's calendar, read by the ``caldav`` client library; the calendar's
own form names the partner, the deal and the colleagues; a private meeting shows only
to those who are in it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import vobject  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM, load_who
from groupware.accounts.models import User
from groupware.caldav import meetings, store
from groupware.caldav.models import CalendarItem
from groupware.crm.partners import set_reps
from groupware.db import Database
from groupware.deals.service import DealIn, create_deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.mail.models import MailEntry, MailMessage
from groupware.stream import Target, Window
from tests.caldav.test_caldav import client as dav_client
from tests.caldav.test_calendar_web import personal_calendar
from tests.conftest import LiveServer, LoginAs
from tests.factories import Cast, make_partner

HTMX = {"HX-Request": "true"}


@dataclass
class Sale:
    partner: int
    deal: int
    other_partner: int


def _sale(session: Session, cast: Cast) -> Sale:
    partner = make_partner(session, SYSTEM, "Konzum d.d.")
    set_reps(session, partner, owner_id=cast.alice.id, rep_ids=[])
    other = make_partner(session, SYSTEM, "Plodine d.d.", oib="12345678903")
    set_reps(session, other, owner_id=cast.alice.id, rep_ids=[])
    kind = save_type(session, SYSTEM, None, TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda")]))
    alice = load_who(session, session.get(User, cast.alice.id))  # type: ignore[arg-type]
    deal = create_deal(
        session, alice, DealIn(title="Blagajne", partner_id=partner.id, type_id=kind.id)
    )
    return Sale(partner.id, deal.id, other.id)


@pytest.fixture
def sale(committed: Cast, database: Database) -> Sale:
    with database.transaction(actor_id=None, channel="cli") as session:
        return _sale(session, committed)


def tomorrow() -> dt.date:
    return dt.date.today() + dt.timedelta(days=1)


def meeting_form(calendar_id: int, **values: object) -> dict[str, object]:
    return {
        "title": "Pregovori o blagajnama",
        "calendar_id": str(calendar_id),
        "start_date": tomorrow().isoformat(),
        "start_time": "10:00",
        "end_date": tomorrow().isoformat(),
        "end_time": "11:30",
        "location": "Konzum, Zagreb",
        "description": "Cijene i rokovi",
        "repeat": "",
        "repeat_until": "",
        "attendees_shown": "1",
        **values,
    }


def _inbox(database: Database, user: User) -> list[str]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        query = (
            select(MailMessage.subject)
            .join(MailEntry, MailEntry.message_id == MailMessage.id)
            .where(MailEntry.user_id == user.id, MailEntry.folder == "inbox")
            .order_by(MailMessage.id)
        )
        return list(session.scalars(query))


def test_a_meeting_scheduled_from_the_partner_page_reaches_the_invited_colleague_s_calendar(
    login_as: LoginAs, committed: Cast, sale: Sale, database: Database, live: LiveServer
) -> None:
    alice = login_as("alice")
    page = alice.get(f"/partners/{sale.partner}").text
    action = re.search(r'href="([^"]+)"[^>]*data-action="meeting"', page)
    assert action is not None
    url = action.group(1).replace("&amp;", "&")
    assert url == f"/calendar/new?partner_id={sale.partner}&back=partners%3A{sale.partner}"
    form = alice.get(url, headers=HTMX)
    assert form.status_code == 200 and "<html" not in form.text
    assert re.search(rf'<option value="{sale.partner}" selected>Konzum d.d.</option>', form.text)
    assert f'<option value="{sale.deal}">Blagajne</option>' in form.text  # the partner's deals
    assert f'<option value="{committed.bob.id}">Bob</option>' in form.text
    assert f'value="{committed.alice.id}">Alice' not in form.text  # not oneself
    calendar = personal_calendar(database, committed.alice)
    values = meeting_form(
        calendar.id,
        partner_id=str(sale.partner),
        deal_id=str(sale.deal),
        attendee_ids=[str(committed.bob.id)],
        back=f"partners:{sale.partner}",
    )
    wrong = alice.post("/calendar/new", data={**values, "end_time": "9:00"}, headers=HTMX)
    assert wrong.status_code == 422 and "The end is before the start." in wrong.text
    assert "<html" not in wrong.text and "Pregovori o blagajnama" in wrong.text
    saved = alice.post("/calendar/new", data=values, headers=HTMX)
    assert saved.status_code == 204, saved.text
    assert saved.headers["HX-Location"] == f"/partners/{sale.partner}"

    # In the partner's and the deal's stream, and among the partner's upcoming meetings.
    partner_page = alice.get(f"/partners/{sale.partner}").text
    upcoming = partner_page.split('data-testid="partner-meetings"')[1].split("</ul>")[0]
    assert "Pregovori o blagajnama" in upcoming and "Bob" in upcoming
    for record in (f"partners/{sale.partner}", f"deals/{sale.deal}"):
        found = alice.get(f"/records/{record}/stream?kind=meeting", headers=HTMX).text
        assert "Pregovori o blagajnama" in found and "Konzum, Zagreb" in found, record

    # Bob got the invitation by mail, and the event is in his own calendar, where his
    # calendar program finds it.
    assert [s for s in _inbox(database, committed.bob) if s.startswith("Invitation")] == [
        f"Invitation: Pregovori o blagajnama ({tomorrow():%d/%m/%Y} 10:00)"
    ]
    with dav_client(live, "bob") as dav:
        personal = next(
            c for c in dav.principal().calendars() if c.get_display_name() == "Calendar"
        )
        (event,) = [e for e in personal.events() if "Pregovori" in e.data]
        vevent = vobject.readOne(event.data).vevent
    assert vevent.summary.value == "Pregovori o blagajnama"
    assert vevent.organizer.value.lower() == f"mailto:{committed.alice.email}".lower()
    attendees = [a.value.lower() for a in vevent.contents["attendee"]]
    assert attendees == [f"mailto:{committed.bob.email}".lower()]
    assert vevent.dtstart.value.astimezone(dt.UTC).hour in (8, 9)  # 10:00 in Zagreb


def test_the_event_form_names_the_partner_and_the_deal_and_changes_whom_it_invites(
    login_as: LoginAs, committed: Cast, sale: Sale, database: Database
) -> None:
    alice, charlie = login_as("alice"), login_as("charlie")
    # The partner is found by typing; charlie does not see alice's partners.
    found = alice.get("/calendar/new/about", params={"partner_q": "konz"}, headers=HTMX)
    assert found.status_code == 200 and found.text.lstrip().startswith("<fieldset")
    assert f'<option value="{sale.partner}">Konzum d.d.</option>' in found.text
    chosen = alice.get("/calendar/new/about", params={"partner_id": sale.partner}, headers=HTMX)
    assert f'<option value="{sale.deal}">Blagajne</option>' in chosen.text
    assert "Konzum" not in charlie.get("/calendar/new/about", params={"partner_q": "konz"}).text

    calendar = personal_calendar(database, committed.alice)
    form = meeting_form(calendar.id, partner_id=str(sale.other_partner), deal_id=str(sale.deal))
    refused = alice.post("/calendar/new", data=form)
    assert refused.status_code == 422 and "This deal is with another partner." in refused.text
    charlies = personal_calendar(database, committed.charlie)
    hidden = meeting_form(charlies.id, partner_id=str(sale.partner))
    refused = charlie.post("/calendar/new", data=hidden)
    assert refused.status_code == 422 and "no such partner" in refused.text

    # A deal alone brings its partner; bob and charlie are invited.
    invited = [str(committed.bob.id), str(committed.charlie.id)]
    made = alice.post(
        "/calendar/new",
        data=meeting_form(calendar.id, deal_id=str(sale.deal), attendee_ids=invited),
    )
    assert made.status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.scalars(
            select(CalendarItem).where(CalendarItem.calendar_id == calendar.id)
        ).one()
        links = set(meetings.links_of(session, row.id))
        edit = f"/calendar/events/{calendar.id}/{row.href}"
    assert links == {("deals", sale.deal), ("partners", sale.partner)}
    page = alice.get(edit).text
    assert re.search(rf'<option value="{sale.partner}" selected>', page)
    assert re.search(rf'<option value="{sale.deal}" selected>', page)
    assert re.search(rf'<option value="{committed.charlie.id}" selected>', page)

    # Charlie is taken off and the title changes: bob's copy follows, charlie's is off.
    changed = meeting_form(
        calendar.id,
        title="Pregovori, drugi krug",
        partner_id=str(sale.partner),
        attendee_ids=[str(committed.bob.id)],
    )
    assert alice.post(edit, data=changed).status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        copies = {
            owner: ics
            for owner, ics in session.execute(
                select(User.username, CalendarItem.ics)
                .join(CalendarItem.calendar)
                .join(User)
                .where(CalendarItem.uid == row.uid, User.username.in_(["bob", "charlie"]))
            )
        }
        links = set(meetings.links_of(session, row.id))
    assert "SUMMARY:Pregovori\\, drugi krug" in copies["bob"]
    assert "STATUS:CANCELLED" in copies["charlie"]
    assert links == {("partners", sale.partner)}  # the deal was taken off
    assert any(s.startswith("Cancelled:") for s in _inbox(database, committed.charlie))
    # Bob's copy is his: its form is his own event's, its guests the organizer's.
    bob = login_as("bob")
    bobs = personal_calendar(database, committed.bob)
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        href = session.scalar(
            select(CalendarItem.href).where(
                CalendarItem.calendar_id == bobs.id, CalendarItem.uid == row.uid
            )
        )
    bob_page = bob.get(f"/calendar/events/{bobs.id}/{href}").text
    assert "invited you" in bob_page and 'name="attendee_ids"' not in bob_page


def test_a_private_meeting_shows_in_the_stream_only_to_those_who_are_in_it(
    db: Session, cast: Cast
) -> None:
    sale = _sale(db, cast)
    partner = Target("partners", sale.partner, None)
    calendar = store.ensure_defaults(db, cast.alice)[0]

    def put(uid: str, day: int, private: bool) -> CalendarItem:
        when = f"202612{day:02d}T090000Z"
        ics = (
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n"
            f"UID:{uid}\r\nDTSTAMP:{when}\r\nDTSTART:{when}\r\nDTEND:{when}\r\n"
            f"SUMMARY:{uid}\r\n" + ("CLASS:PRIVATE\r\n" if private else "") + "END:VEVENT\r\n"
            "END:VCALENDAR\r\n"
        )
        row = store.put_item(db, calendar, f"{uid}.ics", store.parse_items(ics)[0])
        meetings.set_links(db, row, [("partners", sale.partner)])
        return row

    put("javni", 10, False)
    for day in (11, 12, 13):
        put(f"osobni-{day}", day, True)
    dave = cast.who(db, cast.dave)  # sees the partner (he leads alice's team), not her calendar

    def titles(who: object, limit: int = 1) -> list[str]:
        found = meetings.stream_items(db, who, partner, Window(limit=limit))  # type: ignore[arg-type]
        return [str(i.title) for i in found]

    # Three private meetings come first; dave's one entry is still the public one (the
    # source reads on past what he may not see).
    assert titles(dave) == ["javni"]
    assert titles(cast.who(db, cast.alice), 4) == ["osobni-13", "osobni-12", "osobni-11", "javni"]
    # Invited to one, bob sees that one: a copy of it is in his calendar.
    invitation = db.scalars(select(CalendarItem.ics).where(CalendarItem.uid == "osobni-11")).one()
    bobs = store.ensure_defaults(db, cast.bob)[0]
    store.put_item(db, bobs, "osobni-11.ics", store.parse_items(invitation or "")[0])
    assert titles(cast.who(db, cast.bob), 10) == ["osobni-11", "javni"]
