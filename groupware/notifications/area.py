"""Notifications: what the app tells a person (a task given, an alert), read and pruned."""

from groupware.notifications import api, dashboard, service, web
from groupware.notifications.models import Notification
from groupware.wiring import Area

AREA = Area(
    "notifications",
    models=(Notification,),
    pages=(web,),
    apis=(api.api,),
    jobs=(service.PRUNE_JOB,),
    dashboard_widgets=(dashboard.WIDGET,),
)
