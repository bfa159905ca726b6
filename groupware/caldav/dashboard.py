"""The calendar figures of the dashboard: today's and tomorrow's events in the user's
own calendars (where invitations they received land too), each a link to its form and
each day to the calendar's week."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from groupware.access.policy import visible
from groupware.caldav import events
from groupware.caldav.events import DAY, SeenCalendar, Shown
from groupware.caldav.models import Calendar
from groupware.dashboard import Widget, WidgetArgs
from groupware.i18n import _l

SHOWN = 6  # meetings listed under each day


@dataclass(frozen=True)
class Day:
    label: Any
    day: dt.date
    meetings: list[Shown]
    href: str


def meetings_of(args: WidgetArgs, first: dt.date, last: dt.date) -> list[Shown]:
    """The events of the user's own calendars that meet the days ``first``..``last``."""
    own = select(Calendar).where(Calendar.owner_id == args.user_id, visible(Calendar, args.who))
    calendars = [SeenCalendar(c, True) for c in args.session.scalars(own.order_by(Calendar.id))]
    return events.events_between(args.session, calendars, first, last)


def meeting_figures(args: WidgetArgs) -> dict[str, Any]:
    tomorrow = args.today + DAY
    shown = meetings_of(args, args.today, tomorrow)
    days = [
        Day(
            label,
            day,
            [m for m in shown if m.first_day <= day <= m.last_day],
            f"/calendar/week?week={day.isoformat()}",
        )
        for label, day in ((_l("Today"), args.today), (_l("Tomorrow"), tomorrow))
    ]
    return {"days": days, "shown": SHOWN}


WIDGET = Widget(
    "calendar-meetings",
    _l("Meetings today and tomorrow"),
    "calendar/_widget_meetings.html",
    meeting_figures,
    order=40,
)
