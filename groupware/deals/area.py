"""Sales and purchases: deals with lines, phases, members, reports and alerts when a deal
runs late; on partner pages, in calendars, in streams and through merges."""

from groupware.crm.merge import MergeLink
from groupware.deals import alerts, api, dashboard, lists, queries, reports_web, web
from groupware.deals.models import (
    DEALS_MODULE,
    DEALS_RECORD,
    PROCESS_TYPES_RECORD,
    Deal,
    DealLine,
    DealMember,
)
from groupware.deals.types import DEAL_TYPES
from groupware.i18n import _l
from groupware.mail.filing import FilingKind
from groupware.search import Provider
from groupware.web import QuickCreate
from groupware.wiring import Area

AREA = Area(
    "deals",
    models=(Deal, DealMember, DealLine),
    access_modules=(DEALS_MODULE,),
    record_types=(DEALS_RECORD, PROCESS_TYPES_RECORD),
    pages=(web, reports_web),
    apis=(api.api,),
    alert_sources=(alerts.SOURCE,),
    process_kinds=(DEAL_TYPES,),
    partner_sections=(web.PARTNER_SECTION,),
    stream_actions=(web.NEW_DEAL,),
    lists=(lists.DEALS,),
    merge_links=(MergeLink("deals", Deal.partner_id, _l("Deals")),),
    # deal-12@<mail domain>, ana+deal-12@..., and [D-12] in a subject
    filing_kinds=(
        FilingKind("deal", "deals", Deal.id, tag="D", label=_l("Deal"), name=Deal.title),
    ),
    dashboard_widgets=(dashboard.PIPELINE_WIDGET, dashboard.FORECAST_WIDGET),
    search_providers=(
        Provider("deals", _l("Deals"), queries.search_rows, more="/deals?q={q}", order=30),
    ),
    quick_create=(QuickCreate(_l("Deal"), "deal_new", module="deals", order=30),),
)
