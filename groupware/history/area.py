"""History: every change of every record, who made it and through which channel."""

from groupware.history import api, dashboard, lists, recorder, web
from groupware.history.models import Change
from groupware.wiring import Area

AREA = Area(
    "history",
    models=(Change,),
    pages=(web,),
    apis=(api.api,),
    lists=(lists.HISTORY,),
    setup=(recorder.listen,),
    dashboard_widgets=(dashboard.WIDGET,),
)
