"""Events of the web calendar: which calendars a user sees and the occurrences of their
events in a range of days (the form that makes and edits events is
:mod:`groupware.caldav.event_form`).

Who sees what: a user's own calendars, and calendars shared with them or one of their
teams (:mod:`groupware.access.shares`), to read or to write, as over CalDAV
(:class:`groupware.caldav.access.Rights`). Role grants do not reach into calendars: a
colleague's calendar shows as busy times only (:mod:`groupware.caldav.occupancy`).
:func:`get_calendar_for_user` and :func:`get_event_for_user` are the access helpers.

What is shown comes from the calendar rows: the range index finds the items of the
visible days, and each one's iCalendar text gives its title and occurrences (Radicale's
own expansion, so excluded dates and moved occurrences show as a client shows them).
A private event (``CLASS`` other than PUBLIC, :func:`privacy.is_private`) in someone
else's calendar shows as "Busy" with no link, and its form is not found: only its
owner sees and changes what it says, as over CalDAV.
Times are shown in the time zone of :mod:`groupware.i18n`; all-day events and floating
times are wall-clock dates and times wherever one is.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import urllib.parse
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
from groupware.caldav import privacy, store
from groupware.caldav.models import Calendar, CalendarItem
from groupware.errors import Forbidden, NotFound
from groupware.i18n import _, local_time

log = logging.getLogger(__name__)
DAY = dt.timedelta(days=1)
# All-day and floating times are stored as if in UTC: widen the range looked up by a
# day on each side, then keep what falls on the visible days.
PAD = 86400
MAX_VISITS = 20_000  # occurrences of one rule walked through to reach the range
PALETTE = ("#3b6fd8", "#2e7d32", "#c62828", "#6a1b9a", "#ef6c00", "#00838f")
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}(?:[0-9A-Fa-f]{2})?$")


class _NamedZone(zoneinfo.ZoneInfo):
    """A zone vobject writes by its IANA name as the TZID (it reads ``tzid``)."""

    @property
    def tzid(self) -> str:
        return self.key


def calendar_zone() -> zoneinfo.ZoneInfo:
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
    access = privacy.access_of(session, who.id, [c for c, _owner in rows])
    others = [SeenCalendar(c, access[c.id] == "write", str(owner)) for c, owner in rows]
    return own + sorted(others, key=lambda s: (s.owner or "").casefold())


def _seen(session: Session, who: Who, calendar_id: int | None) -> SeenCalendar:
    """A calendar as ``who`` may use it, by the access policy (its owner; a share; a
    role reaching every calendar); 404 when only its free/busy is theirs."""
    row = session.get(Calendar, calendar_id) if calendar_id is not None else None
    access = privacy.access_of(session, who.id, [row])[row.id] if row is not None else ""
    if row is None or access in ("", "freebusy"):
        raise NotFound(_("There is no such calendar, or you may not see it."))
    if access == "owner":
        return SeenCalendar(row, True)
    return SeenCalendar(row, access == "write", str(session.get(User, row.owner_id)))


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
    if row is None or (seen.owner is not None and privacy.is_private(row.ics)):
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
    zone = calendar_zone()
    start = int(dt.datetime.combine(first, dt.time(), zone).timestamp()) - PAD
    end = int(dt.datetime.combine(last + DAY, dt.time(), zone).timestamp()) + PAD
    color = colors(calendars)
    found: list[Shown] = []
    for seen in calendars:
        for row, _certain in store.in_range(session, seen.id, "VEVENT", start, end):
            hidden = seen.owner is not None and privacy.is_private(row.ics)
            url = event_url(seen.id, row.href) if seen.may_write and not hidden else None
            for shown in _occurrences(row, url, color[seen.id], start, end, hidden=hidden):
                if shown.first_day <= last and shown.last_day >= first:
                    found.append(shown)
    return sorted(found, key=lambda s: (not s.all_day, s.start, s.title))


def _occurrences(
    row: CalendarItem, url: str | None, color: str, since: int, until: int, *, hidden: bool
) -> Iterator[Shown]:
    """The item's occurrences that meet ``[since, until)`` (Unix seconds); ``hidden``:
    titled "Busy" whatever they say."""
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
            title=_("Busy") if hidden else (title or _("(no title)")),
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
