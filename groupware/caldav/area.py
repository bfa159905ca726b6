"""Calendars: CalDAV for people's own programs, the web calendar and team occupancy."""

from groupware.caldav import occupancy_web, store, web
from groupware.caldav.models import (
    CALENDARS_MODULE,
    CALENDARS_RECORD,
    Calendar,
    CalendarItem,
    CalendarOccurrence,
)
from groupware.i18n import _l
from groupware.web import QuickCreate
from groupware.wiring import Area

AREA = Area(
    "caldav",
    models=(Calendar, CalendarItem, CalendarOccurrence),
    access_modules=(CALENDARS_MODULE,),
    record_types=(CALENDARS_RECORD,),
    pages=(web, occupancy_web),
    jobs=(store.PRUNE_TOMBSTONES_JOB,),
    # Everyone has a calendar of their own to put events in.
    quick_create=(QuickCreate(_l("Event"), "calendar_event_new", order=50),),
)
