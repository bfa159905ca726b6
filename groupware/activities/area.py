"""Activities: notes and logged calls on any record with a stream, the stream on record
pages and in the API, and its quick actions for notes and calls."""

from collections.abc import Callable

from groupware.activities import api, service, web
from groupware.activities.models import ACTIVITIES_RECORD, Activity
from groupware.crm.merge import MergeLink
from groupware.i18n import _l
from groupware.stream import StreamAction, StreamSource, Target
from groupware.wiring import Area


def _form(kind: str) -> Callable[[Target], str]:
    def url(where: Target) -> str:
        return f"/records/{where.record_type}/{where.record_id}/activities/new?kind={kind}"

    return url


AREA = Area(
    "activities",
    models=(Activity,),
    record_types=(ACTIVITIES_RECORD,),
    pages=(web,),
    apis=(api.api,),
    partner_sections=(web.PARTNER_SECTION,),
    stream_sources=(
        StreamSource("note", _l("Notes"), _l("note"), service.notes, order=10),
        StreamSource("call", _l("Calls"), _l("call"), service.calls, order=20),
    ),
    stream_actions=(
        StreamAction("call", _l("Log a call"), _form("call"), icon="phone", order=10),
        StreamAction("note", _l("Add a note"), _form("note"), icon="pencil", order=20),
    ),
    # Notes and calls on a retired partner move to the one it was merged into.
    merge_links=(
        MergeLink(
            "activities",
            Activity.record_id,
            _l("Notes and calls"),
            record_type=Activity.record_type,
        ),
    ),
)
