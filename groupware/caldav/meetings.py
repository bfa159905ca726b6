"""Meetings: calendar events linked to CRM records and the colleagues they invite.

An event made or edited in the web calendar may name a partner, a deal and other
records with a stream (a person, a task: ``persons:5``); :class:`CalendarLink` rows tie
the organizer's copy to them, so the event is in each one's activity stream and in the
partner page's upcoming meetings. A record may be linked only by someone who may see
it; a deal brings its partner along.

Colleagues are invited the way calendar programs invite them: the event carries
ORGANIZER and ATTENDEE properties, and an iMIP message goes to them
(:mod:`groupware.caldav.invitations`).

Who sees a linked meeting in a stream: whoever sees the record, unless the event is
private (``CLASS`` other than PUBLIC), which only its organizer and those who hold a
copy of it see, as in calendars.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import vobject  # type: ignore[import-untyped]
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from groupware import stream
from groupware.access.policy import Who, pk_column, record_models, visible
from groupware.accounts.models import User
from groupware.caldav import privacy
from groupware.caldav.event_form import EventIn, People, attendees_of, master_of, organizer_of
from groupware.caldav.events import event_url
from groupware.caldav.models import Calendar, CalendarItem, CalendarLink
from groupware.crm.partners import PartnerFilter, list_partners, visible_names
from groupware.deals.queries import deals_of_partner
from groupware.errors import Invalid
from groupware.i18n import _, _l, format_date, format_datetime, gettext, local_time
from groupware.records import record_label
from groupware.stream import StreamItem, StreamSource, Target, Window, micros, ordered

KIND = "meeting"
MAX_ATTENDEES = 100


# -- links to records -----------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """What a save of the form links the event to, and whom it invites."""

    links: list[tuple[str, int]]
    attendees: list[User]


def _seen(session: Session, who: Who, record_type: str, record_id: int) -> Any:
    model = record_models().get(record_type)
    if model is None or record_type not in stream.stream_types():
        return None
    query = select(model).where(pk_column(model) == record_id, visible(model, who, "view"))
    return session.scalar(query)


def check(
    session: Session, who: Who, organizer: User, data: EventIn, calendar: Calendar
) -> Planned:
    """The records the form names, each one the user may see, and the colleagues it
    invites (active users, not the organizer, from an event in the organizer's own
    calendar); :class:`Invalid` naming the field."""
    links: list[tuple[str, int]] = []
    if data.partner_id is not None:
        if _seen(session, who, "partners", data.partner_id) is None:
            raise Invalid({"partner_id": _("There is no such partner, or you may not see it.")})
        links.append(("partners", data.partner_id))
    if data.deal_id is not None:
        deal = _seen(session, who, "deals", data.deal_id)
        if deal is None:
            raise Invalid({"deal_id": _("There is no such deal, or you may not see it.")})
        if data.partner_id is not None and data.partner_id != deal.partner_id:
            raise Invalid({"deal_id": _("This deal is with another partner.")})
        links.append(("deals", deal.id))
        # The deal's partner comes along, if the user may see it.
        if data.partner_id is None and _seen(session, who, "partners", deal.partner_id):
            links.append(("partners", deal.partner_id))
    for key in data.links:
        parsed = stream.parse_key(key)
        if parsed is None or _seen(session, who, *parsed) is None:
            raise Invalid({"": _("There is no such record, or you may not see it.")})
        links.append(parsed)
    if data.attendee_ids and calendar.owner_id != organizer.id:
        raise Invalid({"attendee_ids": _("Invite colleagues from an event in your own calendar.")})
    return Planned(list(dict.fromkeys(links)), _attendees(session, organizer, data.attendee_ids))


def _attendees(session: Session, organizer: User, ids: Sequence[int]) -> list[User]:
    wanted = [i for i in dict.fromkeys(ids) if i != organizer.id][:MAX_ATTENDEES]
    if not wanted:
        return []
    found = {
        u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted), User.is_active))
    }
    if set(wanted) - set(found):
        raise Invalid({"attendee_ids": _("Choose active colleagues.")})
    return [found[i] for i in wanted]


def people(session: Session, organizer: User, attendees: Iterable[User]) -> People:
    """The form's colleagues as the iCalendar writer takes them."""
    everyone = session.scalars(select(User.email).where(User.email != ""))
    return People(
        organizer=(organizer.email, organizer.full_name),
        attendees=tuple((u.email, u.full_name) for u in attendees),
        colleagues=frozenset(e.lower() for e in everyone),
    )


def links_of(session: Session, item_id: int) -> list[tuple[str, int]]:
    query = select(CalendarLink.record_type, CalendarLink.record_id).where(
        CalendarLink.item_id == item_id
    )
    return [(t, i) for t, i in session.execute(query.order_by(CalendarLink.id))]


def set_links(session: Session, item: CalendarItem, links: Sequence[tuple[str, int]]) -> None:
    """Link ``item`` to exactly ``links``."""
    have = set(links_of(session, item.id))
    wanted = set(links)
    for record_type, record_id in have - wanted:
        session.execute(
            delete(CalendarLink).where(
                CalendarLink.item_id == item.id,
                CalendarLink.record_type == record_type,
                CalendarLink.record_id == record_id,
            )
        )
    for record_type, record_id in links:
        if (record_type, record_id) not in have:
            session.add(CalendarLink(item_id=item.id, record_type=record_type, record_id=record_id))
    session.flush()


def with_crm(session: Session, row: CalendarItem, data: EventIn) -> EventIn:
    """``data`` (a stored event as the form shows it) with its links and the
    colleagues it invites."""
    links = links_of(session, row.id)
    master = master_of(vobject.readOne(row.ics))
    invited = attendees_of(master)
    query = select(User.id).where(func.lower(User.email).in_(invited))
    ids = list(session.scalars(query)) if invited else []
    others = tuple(f"{t}:{i}" for t, i in links if t not in ("partners", "deals"))
    return dataclasses.replace(
        data,
        partner_id=next((i for t, i in links if t == "partners"), None),
        deal_id=next((i for t, i in links if t == "deals"), None),
        links=others,
        attendee_ids=tuple(ids),
    )


def organized_by_other(row: CalendarItem, owner: User) -> str:
    """The organizer's address when someone else organises the event (an invitation
    the user holds a copy of): then its attendees are theirs to change."""
    organizer = organizer_of(master_of(vobject.readOne(row.ics)))
    return organizer if organizer and organizer != owner.email.lower() else ""


def relink(
    session: Session, row: CalendarItem, links: Sequence[tuple[str, int]], *, moved_from: int
) -> None:
    """Link the saved event ``row`` to ``links``; an event moved to another calendar is
    a new row there, and the old one's links go."""
    if moved_from != row.id:
        session.execute(delete(CalendarLink).where(CalendarLink.item_id == moved_from))
    set_links(session, row, links)


# -- in the stream and on the partner page -------------------------------------------------


def _rows(session: Session, who: Who, on: Target, window: Window) -> list[tuple[Any, ...]]:
    query = (
        select(CalendarItem, Calendar.owner_id, User.full_name)
        .join(CalendarLink, CalendarLink.item_id == CalendarItem.id)
        .join(Calendar, Calendar.id == CalendarItem.calendar_id)
        .join(User, User.id == Calendar.owner_id)
        .where(
            CalendarLink.record_type == on.record_type,
            CalendarLink.record_id == on.record_id,
            CalendarItem.ics.is_not(None),
            window.clause(KIND, CalendarItem.starts * 1_000_000, CalendarItem.id, micros),
        )
        .order_by(*ordered(window, CalendarItem.starts, CalendarItem.id))
        .limit(window.limit)
    )
    return [tuple(r) for r in session.execute(query)]


def _copies(session: Session, who: Who, uids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """The reader's own copies of events by UID: (calendar id, href)."""
    wanted = list(set(uids))
    if not wanted or who.id is None:
        return {}
    query = (
        select(CalendarItem.uid, CalendarItem.calendar_id, CalendarItem.href)
        .join(Calendar, Calendar.id == CalendarItem.calendar_id)
        .where(
            Calendar.owner_id == who.id,
            CalendarItem.uid.in_(wanted),
            CalendarItem.ics.is_not(None),
        )
    )
    return {uid: (calendar_id, href) for uid, calendar_id, href in session.execute(query)}


@dataclass(frozen=True)
class Meeting:
    """A linked event as a stream or the partner page shows it."""

    row: CalendarItem
    title: str
    start: dt.datetime | dt.date
    end: dt.datetime | dt.date | None
    location: str
    description: str
    organizer: str
    attendees: tuple[str, ...]
    url: str
    repeats: bool

    @property
    def at(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.row.starts, dt.UTC)

    @property
    def when(self) -> str:
        return _when(self)


def _meeting(row: CalendarItem, organizer: str, url: str) -> Meeting | None:
    try:
        master = master_of(vobject.readOne(row.ics))
    except Exception:  # a stored item passed Radicale's check; never fail a page on one
        return None

    def text(name: str) -> str:
        return str(master.contents[name][0].value) if name in master.contents else ""

    end = master.dtend.value if "dtend" in master.contents else None
    return Meeting(
        row=row,
        title=text("summary") or gettext("(no title)"),
        start=master.dtstart.value,
        end=end,
        location=text("location"),
        description=text("description"),
        organizer=organizer,
        attendees=tuple(
            str(a.params.get("CN", [address_of_value(a.value)])[0])
            for a in master.contents.get("attendee", [])
        ),
        url=url,
        repeats=row.recurring,
    )


def address_of_value(value: Any) -> str:
    text = str(value)
    return text[7:] if text.lower().startswith("mailto:") else text


def meetings(session: Session, who: Who, on: Target, window: Window) -> list[Meeting]:
    """The events linked to ``on`` the reader may see, in ``window``'s order (see the
    module docstring); a private one only for its organizer and those invited."""

    def rows(current: Window) -> list[tuple[stream.Cursor, StreamItem | None]]:
        found = _rows(session, who, on, current)
        copies = _copies(session, who, (r[0].uid for r in found))
        result: list[tuple[stream.Cursor, StreamItem | None]] = []
        for row, owner_id, owner_name in found:
            cursor = stream.Cursor(dt.datetime.fromtimestamp(row.starts, dt.UTC), KIND, row.id)
            own = owner_id == who.id
            if privacy.is_private(row.ics) and not own and row.uid not in copies:
                result.append((cursor, None))
                continue
            place = (row.calendar_id, row.href) if own else copies.get(row.uid)
            meeting = _meeting(row, owner_name, event_url(*place) if place else "")
            kept[row.id] = meeting
            result.append((cursor, _item(meeting) if meeting is not None else None))
        return result

    kept: dict[int, Meeting | None] = {}
    items = stream.keep_reading(rows, window)
    return [m for m in (kept[i.ident] for i in items) if m is not None]


def _zoned(value: dt.datetime) -> dt.datetime:
    return local_time(value if value.tzinfo else value.replace(tzinfo=dt.UTC))


def _when(meeting: Meeting, *, day: bool = True) -> str:
    """When it is (``day``: with its date): ``08.12.2026. 10:00–11:30``, or all day."""
    start, end = meeting.start, meeting.end
    if not isinstance(start, dt.datetime):
        return f"{format_date(start)} {gettext('all day')}" if day else gettext("all day")
    text = format_datetime(_zoned(start)) if day else _zoned(start).strftime("%H:%M")
    if isinstance(end, dt.datetime):
        text += "–" + _zoned(end).strftime("%H:%M")
    return text


def _item(meeting: Meeting) -> StreamItem:
    facts = [_when(meeting, day=False)]
    if meeting.location:
        facts.append(meeting.location)
    if meeting.repeats:
        facts.append(gettext("repeats"))
    text = meeting.description[:300]
    if meeting.attendees:
        invited = gettext("With: %(names)s", names=", ".join(meeting.attendees))
        text = f"{invited}\n{text}" if text else invited
    return StreamItem(
        at=meeting.at,
        kind=KIND,
        ident=meeting.row.id,
        title=meeting.title,
        text=text,
        author=meeting.organizer,
        link=meeting.url,
        facts=tuple(facts),
    )


def stream_items(session: Session, who: Who, on: Target, window: Window) -> list[StreamItem]:
    return [_item(m) for m in meetings(session, who, on, window)]


def upcoming(session: Session, who: Who, on: Target, *, limit: int = 10) -> list[Meeting]:
    """The record's meetings from now on, the soonest first."""
    now = dt.datetime.now(dt.UTC)
    since = stream.Cursor(now, KIND, 0)
    return meetings(session, who, on, Window(limit=limit, after=since))


SOURCE = StreamSource(KIND, _l("Meetings"), _l("meeting"), stream_items, order=30)


# -- what the event form offers -------------------------------------------------------


def form_choices(
    session: Session,
    who: Who,
    organizer: User,
    *,
    partner_id: int | None,
    deal_id: int | None,
    links: Sequence[str],
    partner_q: str = "",
) -> dict[str, Any]:
    """The partners (the chosen one and those matching ``partner_q``), the chosen
    partner's deals and the colleagues the event form offers, and the other records
    it is linked to, by name: only records the user may see."""
    partners: dict[int, str] = {}
    if partner_id is not None:
        partners.update(visible_names(session, who, {partner_id}))
    if partner_q:
        found = list_partners(session, who, PartnerFilter(q=partner_q[:100]), limit=20)
        partners.update((p.id, p.name) for p in found)
    deals: list[tuple[int, str]] = []
    if partner_id is not None and partner_id in partners:
        deals = [(d.id, d.title) for d in deals_of_partner(session, who, partner_id)]
    if deal_id is not None and deal_id not in dict(deals):
        deal = _seen(session, who, "deals", deal_id)
        if deal is not None and partner_id in (None, deal.partner_id):
            deals.append((deal.id, deal.title))
    others = []
    for key in links:
        parsed = stream.parse_key(key)
        record = _seen(session, who, *parsed) if parsed is not None else None
        if record is not None:
            others.append((key, f"{record_label(parsed[0])}: {record}"))  # type: ignore[index]
    colleagues = session.execute(
        select(User.id, User.full_name)
        .where(User.is_active, User.id != organizer.id)
        .order_by(User.full_name)
    )
    return {
        "partner_options": list(partners.items()),
        "deal_options": deals,
        "link_labels": others,
        "colleague_options": [(i, name) for i, name in colleagues],
    }
