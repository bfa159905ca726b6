"""Calendars: CalDAV for people's own programs, the web calendar and team occupancy."""

from groupware.caldav import dashboard, occupancy_web, store, web
from groupware.caldav.models import (
    CALENDARS_MODULE,
    CALENDARS_RECORD,
    Calendar,
    CalendarItem,
    CalendarOccurrence,
)
from groupware.wiring import Area

AREA = Area(
    "caldav",
    models=(Calendar, CalendarItem, CalendarOccurrence),
    access_modules=(CALENDARS_MODULE,),
    record_types=(CALENDARS_RECORD,),
    pages=(web, occupancy_web),
    jobs=(store.PRUNE_TOMBSTONES_JOB,),
    dashboard_widgets=(dashboard.WIDGET,),
)
