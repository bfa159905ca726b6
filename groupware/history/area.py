"""History: every change of every record, who made it and through which channel; a
record's changes in its activity stream."""

from groupware.history import api, dashboard, lists, recorder, stream, web
from groupware.history.models import Change
from groupware.wiring import Area

AREA = Area(
    "history",
    models=(Change,),
    pages=(web,),
    apis=(api.api,),
    stream_sources=(stream.SOURCE,),
    lists=(lists.HISTORY,),
    setup=(recorder.listen,),
    dashboard_widgets=(dashboard.WIDGET,),
)
