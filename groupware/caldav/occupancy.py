"""Who is busy when: calendar events (recurrences expanded) and timed tasks.

:func:`busy` reads the time-range index (a recurring event's occurrences from its list,
or by expanding it beyond the list), leaves out transparent and cancelled events and
closed tasks, and says what each busy time is only to those who may read it (its owner,
and those its calendar is shared with, unless the event is private:
:func:`privacy.is_private`): others get "busy" (free/busy), as in CalDAV.
:func:`free_slots` finds times when all of a set of people are free within working
hours; :func:`vfreebusy` writes a VFREEBUSY for Outlook's free/busy URL.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import vobject  # type: ignore[import-untyped]
from dateutil import tz  # type: ignore[import-untyped]
from radicale.item import filter as radicale_filter
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.caldav import privacy, store
from groupware.caldav.models import Calendar, CalendarItem, CalendarOccurrence
from groupware.tasks.models import Task

WORKDAY = (dt.time(8, 0), dt.time(16, 0))
MAX_DAYS = 62  # the longest range one question may cover


@dataclass(frozen=True)
class Busy:
    user_id: int
    start: dt.datetime
    end: dt.datetime
    title: str | None  # None: the viewer sees only that the person is busy
    kind: str  # event | task
    link: str = ""


def _ts(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _at(seconds: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


_UNFOLD = re.compile(r"\r?\n[ \t]")


def _property(ics: str, name: str) -> str | None:
    """The first value of a property in an iCalendar text (no parsing of the rest)."""
    for line in _UNFOLD.sub("", ics).splitlines():
        key, sep, value = line.partition(":")
        if sep and key.split(";")[0].upper() == name:
            return value.replace("\\,", ",").replace("\\;", ";").replace("\\n", " ")
    return None


def _counts(ics: str) -> bool:
    """Whether an event takes its owner's time (not transparent, not cancelled)."""
    return (_property(ics, "TRANSP") or "").upper() != "TRANSPARENT" and (
        _property(ics, "STATUS") or ""
    ).upper() != "CANCELLED"


def _occurrences(
    session: Session, row: CalendarItem, start: int, end: int
) -> list[tuple[int, int]]:
    if not row.recurring:
        return [(row.starts, row.ends)]
    if end <= row.known_until:
        query = select(CalendarOccurrence.starts, CalendarOccurrence.ends).where(
            CalendarOccurrence.item_id == row.id,
            CalendarOccurrence.starts < end,
            CalendarOccurrence.ends > start,
        )
        return [(int(s), int(e)) for s, e in session.execute(query)]
    found: list[tuple[int, int]] = []
    limit = _at(end)

    def occurrence(begin: dt.datetime, finish: dt.datetime, _recurring: bool) -> bool:
        if begin >= limit:
            return True
        if _ts(finish) > start:
            found.append((_ts(begin), _ts(finish)))
        return False

    parsed = vobject.readOne(row.ics or "")
    radicale_filter.visit_time_ranges(parsed, row.component, occurrence, lambda _s: False)
    return found


def busy(
    session: Session,
    viewer_id: int | None,
    user_ids: Sequence[int],
    start: dt.datetime,
    end: dt.datetime,
) -> list[Busy]:
    """Busy times of ``user_ids`` in ``[start, end)``, in order; titles only where the
    viewer may read them (their own calendars and tasks, calendars shared with them,
    but a private event's only in their own)."""
    if end <= start or end - start > dt.timedelta(days=MAX_DAYS):
        raise ValueError("the range must be positive and at most two months long")
    lo, hi = _ts(start), _ts(end)
    found: list[Busy] = []
    rows = list(session.scalars(select(Calendar).where(Calendar.owner_id.in_(list(user_ids)))))
    access = privacy.access_of(session, viewer_id, rows)
    readable = {calendar_id for calendar_id, kind in access.items() if kind != "freebusy"}
    for calendar_id, owner_id in ((c.id, c.owner_id) for c in rows):
        for row, _certain in store.in_range(session, calendar_id, "VEVENT", lo, hi):
            if not _counts(row.ics or ""):
                continue
            shown = calendar_id in readable and (
                owner_id == viewer_id or not privacy.is_private(row.ics)
            )
            title = (_property(row.ics or "", "SUMMARY") or "") if shown else None
            for s, e in _occurrences(session, row, lo, hi):
                if s < hi and e > lo:
                    found.append(Busy(owner_id, _at(s), _at(e), title, "event"))
    tasks = select(Task).where(
        Task.owner_id.in_(list(user_ids)),
        Task.status.in_(("open", "in_progress")),
        Task.starts_at.is_not(None),
        Task.due_at.is_not(None),
        Task.starts_at < end,
        Task.due_at > start,
    )
    for task in session.scalars(tasks):
        assert task.starts_at is not None and task.due_at is not None and task.owner_id
        title = task.title if task.owner_id == viewer_id else None
        found.append(
            Busy(task.owner_id, task.starts_at, task.due_at, title, "task", f"/tasks/{task.id}")
        )
    return sorted(found, key=lambda b: (b.start, b.user_id))


def _merged(
    intervals: Iterable[tuple[dt.datetime, dt.datetime]],
) -> list[tuple[dt.datetime, dt.datetime]]:
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def free_slots(
    session: Session,
    user_ids: Sequence[int],
    start: dt.date,
    days: int,
    minutes: int,
    timezone: str,
    *,
    limit: int = 10,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The first times, within working hours on weekdays, when all of ``user_ids`` are
    free for ``minutes`` (on the half hour)."""
    zone = zoneinfo.ZoneInfo(timezone)
    first = dt.datetime.combine(start, dt.time(), tzinfo=zone)
    last = first + dt.timedelta(days=days)
    taken = _merged((b.start, b.end) for b in busy(session, None, user_ids, first, last))
    length = dt.timedelta(minutes=minutes)
    slots: list[tuple[dt.datetime, dt.datetime]] = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        moment = dt.datetime.combine(day, WORKDAY[0], tzinfo=zone)
        closing = dt.datetime.combine(day, WORKDAY[1], tzinfo=zone)
        while moment + length <= closing:
            finish = moment + length
            clash = next((e for s, e in taken if s < finish and e > moment), None)
            if clash is None:
                slots.append((moment, finish))
                if len(slots) >= limit:
                    return slots
                moment = finish
            else:
                moment = _half_hour_after(clash.astimezone(zone))
    return slots


def _half_hour_after(moment: dt.datetime) -> dt.datetime:
    rounded = moment.replace(minute=0, second=0, microsecond=0)
    while rounded < moment:
        rounded += dt.timedelta(minutes=30)
    return rounded


def vfreebusy(
    busy_times: Sequence[Busy], start: dt.datetime, end: dt.datetime, organizer: str
) -> str:
    """A VFREEBUSY object (RFC 5545) of ``busy_times``, for a free/busy URL."""
    cal = vobject.iCalendar()
    cal.add("method").value = "PUBLISH"
    fb = cal.add("vfreebusy")
    fb.add("uid").value = f"freebusy-{organizer}"
    fb.add("dtstamp").value = dt.datetime.now(tz.UTC)
    fb.add("dtstart").value = start.astimezone(tz.UTC)
    fb.add("dtend").value = end.astimezone(tz.UTC)
    fb.add("organizer").value = f"mailto:{organizer}"
    periods = _merged((b.start, b.end) for b in busy_times)
    if periods:
        line = fb.add("freebusy")
        line.value = [(s.astimezone(tz.UTC), e.astimezone(tz.UTC)) for s, e in periods]
    return str(cal.serialize())
