"""Events of the web calendar: which calendars a user sees, the occurrences of their
events in a range of days, and simple events (title, times or all day, place, notes, a
daily, weekly or monthly repeat) read from a form and written as iCalendar.

Who sees what: a user's own calendars, and calendars shared with them or one of their
teams (:mod:`groupware.access.shares`), to read or to write, as over CalDAV
(:class:`groupware.caldav.access.Rights`). Role grants do not reach into calendars: a
colleague's calendar shows as busy times only (:mod:`groupware.caldav.occupancy`).
:func:`get_calendar_for_user` and :func:`get_event_for_user` are the access helpers.

What is shown comes from the calendar rows: the range index finds the items of the
visible days, and each one's iCalendar text gives its title and occurrences (Radicale's
own expansion, so excluded dates and moved occurrences show as a client shows them).
Times are shown in the time zone of :mod:`groupware.i18n`; all-day events and floating
times are wall-clock dates and times wherever one is.

Every write goes through :mod:`groupware.caldav.store`, so clients see the change on
their next sync. Editing an event a client made changes only what the form shows, on
its master VEVENT, and keeps the rest (alarms, attendees, properties we do not know).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.parse
import uuid
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import vobject  # type: ignore[import-untyped]
from radicale.item import filter as radicale_filter
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from groupware.access.models import Share
from groupware.access.policy import Who, record_type
from groupware.accounts.models import User
from groupware.caldav import store
from groupware.caldav.models import Calendar, CalendarItem
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.i18n import _, _l, local_time, parse_date
from groupware.validation import parse_id

log = logging.getLogger(__name__)
DAY = dt.timedelta(days=1)
# All-day and floating times are stored as if in UTC: widen the range looked up by a
# day on each side, then keep what falls on the visible days.
PAD = 86400
MAX_VISITS = 20_000  # occurrences of one rule walked through to reach the range
PALETTE = ("#3b6fd8", "#2e7d32", "#c62828", "#6a1b9a", "#ef6c00", "#00838f")
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?$")
TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
REPEATS = {"daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY"}
REPEAT_LABELS = {
    "": _l("Does not repeat"),
    "daily": _l("Every day"),
    "weekly": _l("Every week"),
    "monthly": _l("Every month"),
}
KEEP = "keep"  # a rule the form cannot show, left as it is


class _NamedZone(zoneinfo.ZoneInfo):
    """A zone vobject writes by its IANA name as the TZID (it reads ``tzid``)."""

    @property
    def tzid(self) -> str:
        return self.key


def _zone() -> zoneinfo.ZoneInfo:
    """The time zone times are shown in (the one of :func:`groupware.i18n.local_time`)."""
    shown = local_time(dt.datetime.now(dt.UTC)).tzinfo
    zone = _NamedZone(getattr(shown, "key", None) or "UTC")
    if zone.key != "UTC":
        # vobject keeps one zone per TZID for the whole process, the first it met: a
        # client's VTIMEZONE of that name must not decide what ours say.
        vobject.icalendar.registerTzid(zone.key, zone)
    return zone


# -- who sees which calendar ----------------------------------------------------------


@dataclass(frozen=True)
class SeenCalendar:
    """A calendar as one user sees it: ``owner`` names its owner when it is someone
    else's (shared with the user), ``may_write`` says whether they may change it."""

    calendar: Calendar
    may_write: bool
    owner: str | None = None

    @property
    def id(self) -> int:
        return self.calendar.id

    @property
    def takes_events(self) -> bool:
        return "VEVENT" in self.calendar.components


def _shared(
    session: Session, who: Who, calendar_ids: Iterable[int] | None = None
) -> dict[int, str]:
    """Calendars shared with ``who`` or one of their teams: id -> "read" or "write"
    (the stronger when several shares meet)."""
    if who.id is None:
        return {}
    grantee = Share.user_id == who.id
    if who.team_ids:
        grantee = or_(grantee, Share.team_id.in_(who.team_ids))
    query = select(Share.record_id, Share.permission).where(
        Share.record_type == record_type(Calendar), grantee
    )
    if calendar_ids is not None:
        query = query.where(Share.record_id.in_(list(calendar_ids)))
    found: dict[int, str] = {}
    for calendar_id, permission in session.execute(query):
        if found.get(calendar_id) != "write":
            found[calendar_id] = permission
    return found


def calendars_for_user(session: Session, who: Who) -> list[SeenCalendar]:
    """The user's own calendars, then those shared with them or their teams (by owner)."""
    own = [SeenCalendar(c, True) for c in store.calendars_of(session, who.id or 0)]
    shared = _shared(session, who)
    if not shared:
        return own
    rows = session.execute(
        select(Calendar, User)
        .join(User, User.id == Calendar.owner_id)
        .where(Calendar.id.in_(list(shared)), Calendar.owner_id != who.id)
        .order_by(Calendar.id)
    ).all()
    others = [SeenCalendar(c, shared[c.id] == "write", str(owner)) for c, owner in rows]
    return own + sorted(others, key=lambda s: (s.owner or "").casefold())


def _seen(session: Session, who: Who, calendar_id: int | None) -> SeenCalendar:
    row = session.get(Calendar, calendar_id) if calendar_id is not None else None
    if row is not None and row.owner_id == who.id:
        return SeenCalendar(row, True)
    permission = _shared(session, who, [row.id]).get(row.id) if row is not None else None
    if row is None or permission is None:
        raise NotFound(_("There is no such calendar, or you may not see it."))
    return SeenCalendar(row, permission == "write", str(session.get(User, row.owner_id)))


def _check_write(seen: SeenCalendar) -> None:
    if not seen.may_write:
        raise Forbidden(_("This calendar is shared with you to read only."))


def get_calendar_for_user(
    session: Session, who: Who, calendar_id: int | None, *, write: bool = False
) -> Calendar:
    """A calendar the user may see (their own, or shared with them or one of their
    teams), or with ``write`` change: 404 when they may not see it, 403 when they may
    only read it."""
    seen = _seen(session, who, calendar_id)
    if write:
        _check_write(seen)
    return seen.calendar


def get_event_for_user(
    session: Session, who: Who, calendar_id: int, href: str, *, write: bool = False
) -> tuple[Calendar, CalendarItem]:
    """An event in a calendar the user may see (with ``write``: change); 404 for an
    event they may not see or that is not there, 403 for one they may only read."""
    seen = _seen(session, who, calendar_id)
    row = session.scalar(
        select(CalendarItem).where(
            CalendarItem.calendar_id == seen.id,
            CalendarItem.href == href,
            CalendarItem.component == "VEVENT",
            CalendarItem.ics.is_not(None),
        )
    )
    if row is None:
        raise NotFound(_("There is no such event, or you may not see it."))
    if write:
        _check_write(seen)
    return seen.calendar, row


# -- reading events -------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    """One occurrence of an event, in local wall-clock time (naive); ``url`` is its
    form, None when the user may only read it."""

    title: str
    url: str | None
    color: str
    all_day: bool
    start: dt.datetime
    end: dt.datetime  # exclusive; midnight after the last day for all-day events
    repeats: bool

    @property
    def first_day(self) -> dt.date:
        return self.start.date()

    @property
    def last_day(self) -> dt.date:
        return max(self.start, self.end - dt.timedelta(microseconds=1)).date()


@dataclass(frozen=True)
class Entry:
    """An event on one day: ``label`` is its start time, empty when all day, or "…"
    on the days a longer event goes on."""

    event: Shown
    label: str


@dataclass(frozen=True)
class LegendEntry:
    calendar_id: int
    name: str
    color: str
    owner: str | None  # someone else's calendar, shared with the user
    may_write: bool


def event_url(calendar_id: int, href: str) -> str:
    return f"/calendar/events/{calendar_id}/{urllib.parse.quote(href, safe='')}"


def colors(calendars: Sequence[SeenCalendar]) -> dict[int, str]:
    """Each calendar's colour: its own (from a client), or one of the palette."""
    return {
        s.id: (
            s.calendar.color[:7]
            if s.calendar.color and COLOR.match(s.calendar.color)
            else PALETTE[i % len(PALETTE)]
        )
        for i, s in enumerate(calendars)
    }


def legend(calendars: Sequence[SeenCalendar]) -> list[LegendEntry]:
    color = colors(calendars)
    return [
        LegendEntry(s.id, s.calendar.name, color[s.id], s.owner, s.may_write)
        for s in calendars
        if s.takes_events
    ]


def events_between(
    session: Session, calendars: Sequence[SeenCalendar], first: dt.date, last: dt.date
) -> list[Shown]:
    """Occurrences of the calendars' events that meet the days ``first``..``last``."""
    zone = _zone()
    start = int(dt.datetime.combine(first, dt.time(), zone).timestamp()) - PAD
    end = int(dt.datetime.combine(last + DAY, dt.time(), zone).timestamp()) + PAD
    color = colors(calendars)
    found: list[Shown] = []
    for seen in calendars:
        for row, _certain in store.in_range(session, seen.id, "VEVENT", start, end):
            url = event_url(seen.id, row.href) if seen.may_write else None
            for shown in _occurrences(row, url, color[seen.id], start, end):
                if shown.first_day <= last and shown.last_day >= first:
                    found.append(shown)
    return sorted(found, key=lambda s: (not s.all_day, s.start, s.title))


def _occurrences(
    row: CalendarItem, url: str | None, color: str, since: int, until: int
) -> Iterator[Shown]:
    """The item's occurrences that meet ``[since, until)`` (Unix seconds)."""
    try:
        vcal = vobject.readOne(row.ics)
    except Exception:  # stored items passed Radicale's check; never fail a page on one
        log.warning("unreadable calendar item %s", row.id, exc_info=True)
        return
    after = dt.datetime.fromtimestamp(since, dt.UTC)
    stop = dt.datetime.fromtimestamp(until, dt.UTC)
    child: list[Any] = [None]
    walked = [0]
    visits: list[tuple[Any, dt.datetime, dt.datetime]] = []

    def component(vevent: Any) -> None:
        child[0] = vevent

    def occurrence(begin: dt.datetime, finish: dt.datetime, is_override: bool) -> bool:
        walked[0] += 1
        if walked[0] > MAX_VISITS:
            return True
        if begin < stop and finish >= after:
            visits.append((child[0], begin, finish))
        # Overrides come first and in no order; the master's occurrences are sorted.
        return not is_override and begin >= stop

    def endless(_start: dt.datetime) -> bool:
        return False  # go on: occurrence() stops after the range

    try:
        radicale_filter.visit_time_ranges(vcal, "VEVENT", occurrence, endless, component)
    except (ValueError, AttributeError, TypeError):
        log.warning("calendar item %s cannot be expanded", row.id, exc_info=True)
    for vevent, begin, finish in visits:
        value = vevent.dtstart.value
        if not isinstance(value, dt.datetime):  # a date: the same day everywhere
            begin = dt.datetime.combine(begin.date(), dt.time())
            finish = dt.datetime.combine(max(finish.date(), begin.date() + DAY), dt.time())
        elif value.tzinfo is None:  # floating: the same wall-clock time everywhere
            begin, finish = begin.replace(tzinfo=None), finish.replace(tzinfo=None)
        else:
            begin = local_time(begin).replace(tzinfo=None)
            finish = local_time(finish).replace(tzinfo=None)
        title = str(vevent.summary.value) if "summary" in vevent.contents else ""
        yield Shown(
            title=title or _("(no title)"),
            url=url,
            color=color,
            all_day=not isinstance(value, dt.datetime),
            start=begin,
            end=max(begin, finish),
            repeats=row.recurring,
        )


def entries_on(events: Sequence[Shown], day: dt.date) -> list[Entry]:
    found = []
    for event in events:
        if event.first_day <= day <= event.last_day:
            if event.all_day:
                label = ""
            elif event.first_day == day:
                label = event.start.strftime("%H:%M")
            else:
                label = "…"
            found.append(Entry(event, label))
    return found


# -- the form -------------------------------------------------------------------------


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


def read_form(form: dict[str, Any], *, may_keep: bool) -> EventIn:
    """The form's event, or :class:`Invalid` naming each field that is wrong."""
    errors: dict[str, str] = {}
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
    zone = _zone()
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
    zone = _zone()
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


# -- writing events -------------------------------------------------------------------


def _takes_events(calendar: Calendar) -> None:
    if "VEVENT" not in calendar.components:
        raise Invalid({"calendar_id": _("This calendar does not take events.")})


def _store(session: Session, calendar: Calendar, href: str, vcal: Any) -> None:
    try:
        item = store.parse_items(vcal.serialize())[0]
    except vobject.base.VObjectError as exc:
        raise Invalid({"": _("This event cannot be saved: %(reason)s", reason=str(exc))}) from exc
    store.put_item(session, calendar, href, item)


def create_event(session: Session, calendar: Calendar, data: EventIn) -> str:
    """Store the form's event as a new item of ``calendar`` (which the caller loaded
    for writing); its href."""
    _takes_events(calendar)
    uid, vcal = new_calendar_object(data)
    href = f"{uid}.ics"
    _store(session, calendar, href, vcal)
    return href


def update_event(
    session: Session, calendar: Calendar, row: CalendarItem, data: EventIn, *, target: Calendar
) -> None:
    """Write what the form changed onto the stored event ``row`` of ``calendar``, and
    move it to ``target`` when that is another calendar (both loaded for writing)."""
    vcal = vobject.readOne(row.ics)
    was = event_of(master_of(vcal), calendar.id)
    _takes_events(target)
    apply(vcal, data, was)
    if target.id != calendar.id:
        if store.live_items(session, target.id, hrefs=[row.href]):
            raise Invalid({"calendar_id": _("That calendar already holds this event.")})
        store.delete_item(session, calendar, row.href)
    _store(session, target, row.href, vcal)
