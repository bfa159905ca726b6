"""Calendars: CalDAV for people's own programs, the web calendar and team occupancy;
meetings linked to CRM records (in their streams, on the partner page) and colleagues
invited to them."""

from groupware.caldav import dashboard, meetings, occupancy_web, store, web
from groupware.caldav.models import (
    CALENDARS_MODULE,
    CALENDARS_RECORD,
    Calendar,
    CalendarItem,
    CalendarLink,
    CalendarOccurrence,
)
from groupware.crm.merge import MergeLink
from groupware.i18n import _l
from groupware.web import QuickCreate
from groupware.wiring import Area

AREA = Area(
    "caldav",
    models=(Calendar, CalendarItem, CalendarOccurrence, CalendarLink),
    access_modules=(CALENDARS_MODULE,),
    record_types=(CALENDARS_RECORD,),
    pages=(web, occupancy_web),
    jobs=(store.PRUNE_TOMBSTONES_JOB,),
    partner_sections=(web.PARTNER_SECTION,),
    stream_sources=(meetings.SOURCE,),
    stream_actions=(web.NEW_MEETING,),
    # A meeting with a retired partner is with the partner it was merged into.
    merge_links=(
        MergeLink(
            "meetings",
            CalendarLink.record_id,
            _l("Meetings"),
            record_type=CalendarLink.record_type,
            unique=(CalendarLink.item_id,),
        ),
    ),
    dashboard_widgets=(dashboard.WIDGET,),
    # Everyone has a calendar of their own to put events in.
    quick_create=(QuickCreate(_l("Event"), "calendar_event_new", order=50),),
)
