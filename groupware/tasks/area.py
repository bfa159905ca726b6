"""Tasks: to-dos given, handed on, accepted or rejected, in the CalDAV task lists of
those who hold them, with alerts when they run late; in the streams and on the pages of
the partners and deals they are linked to."""

from groupware.crm.merge import MergeLink
from groupware.i18n import _l
from groupware.search import Provider
from groupware.tasks import alerts, api, calendar, dashboard, lists, service, stream, web
from groupware.tasks.models import TASKS_MODULE, TASKS_RECORD, Task, TaskDelegation
from groupware.web import QuickCreate
from groupware.wiring import Area

AREA = Area(
    "tasks",
    models=(Task, TaskDelegation),
    access_modules=(TASKS_MODULE,),
    record_types=(TASKS_RECORD,),
    pages=(web,),
    apis=(api.api,),
    alert_sources=(alerts.SOURCE,),
    calendar_sources=((calendar.PREFIX, calendar.from_client),),
    partner_sections=(web.PARTNER_SECTION,),
    stream_sources=(stream.SOURCE,),
    stream_actions=(web.NEW_TASK,),
    merge_links=(MergeLink("tasks", Task.partner_id, _l("Tasks")),),
    dashboard_widgets=(dashboard.WIDGET,),
    lists=(lists.TASKS,),
    search_providers=(Provider("tasks", _l("Tasks"), service.search_rows, order=40),),
    quick_create=(QuickCreate(_l("Task"), "task_new", module="tasks", order=40),),
)
