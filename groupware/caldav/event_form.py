"""The event form of the web calendar: simple events (title, times or all day, place,
notes, a daily, weekly or monthly repeat, the partner and deal it is about, colleagues
invited) read from a form and written as iCalendar.

Every write goes through :mod:`groupware.caldav.store`, so clients see the change on
their next sync. Editing an event a client made changes only what the form shows, on
its master VEVENT, and keeps the rest (alarms, attendees from outside the company,
properties we do not know). What the CRM does with the partner, the deal and the
colleagues (links, invitations) is :mod:`groupware.caldav.meetings`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import vobject  # type: ignore[import-untyped]
from sqlalchemy.orm import Session

from groupware.caldav import store
from groupware.caldav.events import DAY, SeenCalendar, calendar_zone
from groupware.caldav.models import Calendar, CalendarItem
from groupware.errors import Invalid, NotFound
from groupware.i18n import _, _l, local_time, parse_date
from groupware.validation import parse_id

TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
REPEATS = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY"}
REPEAT_LABELS = {
    "": _l("Does not repeat"),
    "daily": _l("Every day"),
    "weekly": _l("Every week"),
    "monthly": _l("Every month"),
}
KEEP = "keep"  # a rule the form cannot show, left as it is


@dataclass(frozen=True)
class EventIn:
    """What the form says about an event; times are local wall-clock (naive)."""

    title: str
    calendar_id: int
    all_day: bool
    start: dt.datetime
    end: dt.datetime  # exclusive; midnight after the last day when all day
    location: str
    description: str
    repeat: str  # "", a key of REPEATS, or KEEP
    until: dt.date | None
    # What it is about and whom it invites (groupware.caldav.meetings): a partner, a
    # deal, other records ("persons:5"), colleagues by their user id.
    partner_id: int | None = None
    deal_id: int | None = None
    links: tuple[str, ...] = ()
    attendee_ids: tuple[int, ...] = ()

    @property
    def seen(self) -> tuple[Any, ...]:
        """What invited people see of the event (a change of it invites them anew)."""
        return (
            self.title,
            self.all_day,
            self.start,
            self.end,
            self.location,
            self.description,
            self.repeat,
            self.until,
        )


def calendar_options(calendars: Sequence[SeenCalendar]) -> list[tuple[int, str]]:
    """The calendars an event may go into (those the user may write that take events),
    a shared one named with its owner."""
    return [
        (s.id, _("%(calendar)s (%(owner)s)", calendar=s.calendar.name, owner=s.owner))
        if s.owner
        else (s.id, s.calendar.name)
        for s in calendars
        if s.may_write and s.takes_events
    ]


def _date(form: dict[str, Any], name: str, errors: dict[str, str], message: str) -> dt.date | None:
    text = str(form.get(name) or "").strip()
    try:
        return parse_date(text) if text else None
    except ValueError:
        errors[name] = message
        return None


def _time(form: dict[str, Any], name: str, errors: dict[str, str], message: str) -> dt.time | None:
    text = str(form.get(name) or "").strip()
    match = TIME.match(text)
    if match and int(match.group(1)) <= 23 and int(match.group(2)) <= 59:
        return dt.time(int(match.group(1)), int(match.group(2)))
    if text:
        errors[name] = message
    return None


def _when(
    form: dict[str, Any], all_day: bool, errors: dict[str, str]
) -> tuple[dt.datetime, dt.datetime]:
    """Start and end (exclusive) of the form's event, local wall-clock; an end left
    out is the start's day, an hour after the start when both are left out."""
    start_day = _date(form, "start_date", errors, _("The start date is not a valid date."))
    end_day = _date(form, "end_date", errors, _("The end date is not a valid date."))
    if start_day is None and "start_date" not in errors:
        errors["start_date"] = _("The start date is missing.")
    start_time = end_time = None
    if not all_day:
        start_time = _time(form, "start_time", errors, _("The start time is not a valid time."))
        end_time = _time(form, "end_time", errors, _("The end time is not a valid time."))
        if start_time is None and "start_time" not in errors:
            errors["start_time"] = _("The start time is missing.")
    if errors or start_day is None:
        raise Invalid(errors)
    start = dt.datetime.combine(start_day, start_time or dt.time())
    if all_day:
        end = dt.datetime.combine((end_day or start_day) + DAY, dt.time())
    elif end_day is None and end_time is None:
        end = start + dt.timedelta(hours=1)
    else:
        end = dt.datetime.combine(end_day or start_day, end_time or start.time())
    if end < start or (end_day is not None and end_day < start_day):
        raise Invalid({"end_date": _("The end is before the start.")})
    return start, end


def _ids(values: Any) -> tuple[int, ...]:
    found = [parse_id(str(v)) for v in (values if isinstance(values, list) else [values])]
    return tuple(dict.fromkeys(i for i in found if i is not None))


def read_form(form: dict[str, Any], *, may_keep: bool) -> EventIn:
    """The form's event, or :class:`Invalid` naming each field that is wrong."""
    errors: dict[str, str] = {}
    partner_text = str(form.get("partner_id") or "").strip()
    partner_id = parse_id(partner_text)
    if partner_text and partner_id is None:
        errors["partner_id"] = _("Choose a partner from the list.")
    deal_text = str(form.get("deal_id") or "").strip()
    deal_id = parse_id(deal_text)
    if deal_text and deal_id is None:
        errors["deal_id"] = _("Choose a deal from the list.")
    links = form.get("links") or []
    links = tuple(dict.fromkeys(str(v) for v in (links if isinstance(links, list) else [links])))
    title = str(form.get("title") or "").strip()
    if not title:
        errors["title"] = _("The title is missing.")
    calendar_id = parse_id(str(form.get("calendar_id") or ""))
    if calendar_id is None:
        errors["calendar_id"] = _("Choose a calendar.")
    repeat = str(form.get("repeat") or "")
    if repeat not in REPEATS and repeat != "" and not (repeat == KEEP and may_keep):
        errors["repeat"] = _("Choose how the event repeats.")
    until = _date(form, "repeat_until", errors, _("The repeat end date is not a valid date."))
    all_day = bool(form.get("all_day"))
    start, end = _when(form, all_day, errors)  # raises with the errors above too
    assert calendar_id is not None
    if until is not None and until < start.date():
        raise Invalid({"repeat_until": _("The repeat ends before the event starts.")})
    return EventIn(
        title=title[:500],
        calendar_id=calendar_id,
        all_day=all_day,
        start=start,
        end=end,
        location=str(form.get("location") or "").strip()[:500],
        description=str(form.get("description") or "").strip()[:10_000],
        repeat=repeat,
        until=until if repeat else None,
        partner_id=partner_id,
        deal_id=deal_id,
        links=links[:10],
        attendee_ids=_ids(form.get("attendee_ids") or [])[:100],
    )


def form_values(data: EventIn) -> dict[str, Any]:
    """The form's fields showing ``data``."""
    last = data.end - DAY if data.all_day else data.end
    return {
        "title": data.title,
        "calendar_id": data.calendar_id,
        "all_day": data.all_day,
        "start_date": data.start.date().isoformat(),
        "start_time": "" if data.all_day else data.start.strftime("%H:%M"),
        "end_date": max(last, data.start).date().isoformat(),
        "end_time": "" if data.all_day else data.end.strftime("%H:%M"),
        "location": data.location,
        "description": data.description,
        "repeat": data.repeat,
        "repeat_until": data.until.isoformat() if data.until else "",
        "partner_id": data.partner_id or "",
        "deal_id": data.deal_id or "",
        "links": list(data.links),
        "attendee_ids": list(data.attendee_ids),
    }


# -- iCalendar ------------------------------------------------------------------------


def master_of(vcal: Any) -> Any:
    """The VEVENT without a RECURRENCE-ID (an override alone stands for itself)."""
    events = list(getattr(vcal, "vevent_list", []))
    if not events:
        raise NotFound(_("There is no such event, or you may not see it."))
    return next((e for e in events if "recurrence-id" not in e.contents), events[0])


def _wall(value: dt.date | dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value if value.tzinfo is None else local_time(value).replace(tzinfo=None)


def _rule_of(master: Any) -> tuple[str, dt.date | None]:
    rules = master.contents.get("rrule", [])
    if not rules:
        return ("", None) if "rdate" not in master.contents else (KEEP, None)
    parts = dict(p.split("=", 1) for p in str(rules[0].value).upper().split(";") if "=" in p)
    freq = parts.pop("FREQ", "")
    repeat = next((k for k, v in REPEATS.items() if v == freq), "")
    until_text = parts.pop("UNTIL", "")
    if parts.pop("INTERVAL", "1") != "1" or parts or not repeat or len(rules) > 1:
        return KEEP, None
    if "rdate" in master.contents:
        return KEEP, None
    if not until_text:
        return repeat, None
    try:
        if "T" not in until_text:
            return repeat, dt.datetime.strptime(until_text, "%Y%m%d").date()
        until = dt.datetime.strptime(until_text.rstrip("Z"), "%Y%m%dT%H%M%S")
    except ValueError:
        return KEEP, None
    if until_text.endswith("Z"):
        until = local_time(until.replace(tzinfo=dt.UTC))
    return repeat, until.date()


def event_of(master: Any, calendar_id: int) -> EventIn:
    """The form's view of an event's master VEVENT."""
    value = master.dtstart.value
    all_day = not isinstance(value, dt.datetime)
    start = _wall(value)
    if "dtend" in master.contents:
        end = _wall(master.dtend.value)
    elif "duration" in master.contents:
        end = start + master.duration.value
    else:
        end = start + DAY if all_day else start
    repeat, until = _rule_of(master)

    def text(name: str) -> str:
        return str(master.contents[name][0].value) if name in master.contents else ""

    return EventIn(
        title=text("summary"),
        calendar_id=calendar_id,
        all_day=all_day,
        start=start,
        end=max(end, start + DAY) if all_day else max(end, start),
        location=text("location"),
        description=text("description"),
        repeat=repeat,
        until=until,
    )


def stored_event(row: CalendarItem) -> EventIn:
    """The form's view of a stored event."""
    return event_of(master_of(vobject.readOne(row.ics)), row.calendar_id)


def _set(component: Any, name: str, value: Any) -> None:
    component.contents.pop(name, None)
    if value not in ("", None):
        component.add(name).value = value


def _rule(data: EventIn, zone: dt.tzinfo) -> str:
    rule = "FREQ=" + REPEATS[data.repeat]
    if data.until is None:
        return rule
    if data.all_day:
        return rule + f";UNTIL={data.until:%Y%m%d}"
    last = dt.datetime.combine(data.until, dt.time(23, 59, 59), zone).astimezone(dt.UTC)
    return rule + f";UNTIL={last:%Y%m%dT%H%M%SZ}"


def _set_times(vcal: Any, master: Any, data: EventIn, zone: dt.tzinfo) -> None:
    was_all_day = "dtstart" in master.contents and not isinstance(master.dtstart.value, dt.datetime)
    for name in ("dtstart", "dtend", "duration"):
        master.contents.pop(name, None)
    if data.all_day:
        master.add("dtstart").value = data.start.date()
        master.add("dtend").value = data.end.date()
    else:
        master.add("dtstart").value = data.start.replace(tzinfo=zone)
        master.add("dtend").value = data.end.replace(tzinfo=zone)
    if was_all_day != data.all_day:
        _drop_exceptions(vcal, master)  # their dates no longer match DTSTART's kind


def _drop_exceptions(vcal: Any, master: Any) -> None:
    for name in ("exdate", "rdate"):
        master.contents.pop(name, None)
    for vevent in list(vcal.vevent_list):
        if vevent is not master and "recurrence-id" in vevent.contents:
            vcal.remove(vevent)


def apply(vcal: Any, data: EventIn, was: EventIn) -> None:
    """Write what the form changed onto the master VEVENT, leaving the rest alone."""
    master = master_of(vcal)
    zone = calendar_zone()
    for name, new, old in (
        ("summary", data.title, was.title),
        ("location", data.location, was.location),
        ("description", data.description, was.description),
    ):
        if new != old:
            _set(master, name, new)
    times = (data.all_day, data.start, data.end) != (was.all_day, was.start, was.end)
    if times:
        _set_times(vcal, master, data, zone)
    rule = data.repeat != KEEP and (data.repeat, data.until) != (was.repeat, was.until)
    if rule:
        master.contents.pop("rrule", None)
        if data.repeat:
            master.add("rrule").value = _rule(data, zone)
        else:
            _drop_exceptions(vcal, master)
    if times or rule:
        sequence = int(master.sequence.value) + 1 if "sequence" in master.contents else 1
        _set(master, "sequence", str(sequence))
    now = dt.datetime.now(vobject.icalendar.utc).replace(microsecond=0)
    _set(master, "dtstamp", now)
    _set(master, "last-modified", now)


def new_calendar_object(data: EventIn) -> tuple[str, Any]:
    """A new VCALENDAR for the form's event, and its UID."""
    uid = f"{uuid.uuid4()}@groupware"
    vcal = vobject.iCalendar()
    master = vcal.add("vevent")
    master.add("uid").value = uid
    zone = calendar_zone()
    _set_times(vcal, master, data, zone)
    for name, value in (
        ("summary", data.title),
        ("location", data.location),
        ("description", data.description),
    ):
        _set(master, name, value)
    if data.repeat in REPEATS:
        master.add("rrule").value = _rule(data, zone)
    _set(master, "dtstamp", dt.datetime.now(vobject.icalendar.utc).replace(microsecond=0))
    return uid, vcal


# -- who organises and who is invited ----------------------------------------------------


@dataclass(frozen=True)
class People:
    """The colleagues an event invites, by address and name, with its organizer; the
    form manages only attendees whose address is in ``colleagues`` (people of the
    company), and leaves anybody else a client invited as it is."""

    organizer: tuple[str, str]
    attendees: tuple[tuple[str, str], ...]
    colleagues: frozenset[str]


def address_of(value: Any) -> str:
    """``ana@firma.hr`` of ``mailto:Ana@Firma.hr``."""
    text = str(value).strip()
    return (text[7:] if text.lower().startswith("mailto:") else text).lower()


def organizer_of(master: Any) -> str:
    return address_of(master.organizer.value) if "organizer" in master.contents else ""


def attendees_of(master: Any) -> list[str]:
    return [address_of(a.value) for a in master.contents.get("attendee", [])]


def set_people(master: Any, people: People) -> tuple[list[str], list[str]]:
    """Invite exactly ``people.attendees`` among the colleagues (an invited one keeps
    their answer); the organizer is named once someone is invited. Returns the
    addresses added and removed."""
    wanted = {address.lower(): name for address, name in people.attendees}
    have = attendees_of(master)
    removed = [a for a in have if a in people.colleagues and a not in wanted]
    for attendee in list(master.contents.get("attendee", [])):
        if address_of(attendee.value) in removed:
            master.contents["attendee"].remove(attendee)
    added = [a for a in wanted if a not in have]
    for address in added:
        attendee = master.add("attendee")
        attendee.value = f"mailto:{address}"
        attendee.params.update(
            {
                "CN": [wanted[address]],
                "ROLE": ["REQ-PARTICIPANT"],
                "PARTSTAT": ["NEEDS-ACTION"],
                "RSVP": ["TRUE"],
            }
        )
    if not master.contents.get("attendee"):
        master.contents.pop("attendee", None)
        if organizer_of(master) == people.organizer[0].lower():
            master.contents.pop("organizer", None)
    elif "organizer" not in master.contents:
        organizer = master.add("organizer")
        organizer.value = f"mailto:{people.organizer[0]}"
        organizer.params["CN"] = [people.organizer[1]]
    return added, removed


# -- writing events -------------------------------------------------------------------


def _takes_events(calendar: Calendar) -> None:
    if "VEVENT" not in calendar.components:
        raise Invalid({"calendar_id": _("This calendar does not take events.")})


def _store(session: Session, calendar: Calendar, href: str, vcal: Any) -> CalendarItem:
    try:
        item = store.parse_items(vcal.serialize())[0]
    except vobject.base.VObjectError as exc:
        raise Invalid({"": _("This event cannot be saved: %(reason)s", reason=str(exc))}) from exc
    return store.put_item(session, calendar, href, item)


@dataclass(frozen=True)
class Saved:
    """A stored event, and the colleagues a save added to it and took off it."""

    row: CalendarItem
    added: list[str]
    removed: list[str]


def create_event(
    session: Session, calendar: Calendar, data: EventIn, *, people: People | None = None
) -> Saved:
    """Store the form's event as a new item of ``calendar`` (which the caller loaded
    for writing), inviting ``people``."""
    _takes_events(calendar)
    uid, vcal = new_calendar_object(data)
    added: list[str] = []
    if people is not None and people.attendees:
        added, _removed = set_people(master_of(vcal), people)
    return Saved(_store(session, calendar, f"{uid}.ics", vcal), added, [])


def update_event(
    session: Session,
    calendar: Calendar,
    row: CalendarItem,
    data: EventIn,
    *,
    target: Calendar,
    people: People | None = None,
) -> Saved:
    """Write what the form changed onto the stored event ``row`` of ``calendar``, and
    move it to ``target`` when that is another calendar (both loaded for writing);
    with ``people``, invite exactly them among the colleagues."""
    vcal = vobject.readOne(row.ics)
    master = master_of(vcal)
    was = event_of(master, calendar.id)
    _takes_events(target)
    apply(vcal, data, was)
    added: list[str] = []
    removed: list[str] = []
    if people is not None:
        added, removed = set_people(master, people)
    if target.id != calendar.id:
        if store.live_items(session, target.id, hrefs=[row.href]):
            raise Invalid({"calendar_id": _("That calendar already holds this event.")})
        store.delete_item(session, calendar, row.href)
    return Saved(_store(session, target, row.href, vcal), added, removed)
