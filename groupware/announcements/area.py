"""Announcements: news for the whole company or a team, on the dashboard."""

from groupware.announcements import api, dashboard, web
from groupware.announcements.models import ANNOUNCEMENTS_RECORD, MODULE, Announcement
from groupware.i18n import _l
from groupware.web import QuickCreate
from groupware.wiring import Area

AREA = Area(
    "announcements",
    models=(Announcement,),
    access_modules=(MODULE,),
    record_types=(ANNOUNCEMENTS_RECORD,),
    pages=(web,),
    apis=(api.api,),
    dashboard_widgets=(dashboard.WIDGET,),
    quick_create=(
        QuickCreate(_l("Announcement"), "announcement_new", module=MODULE.name, order=70),
    ),
)
