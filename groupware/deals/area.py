"""Sales and purchases: deals with lines, phases, activities, members, reports and
alerts when a deal runs late; on partner pages, in calendars and through merges."""

from groupware.crm.merge import MergeLink
from groupware.deals import alerts, api, calendar, queries, reports_web, service, web
from groupware.deals.models import (
    DEALS_MODULE,
    DEALS_RECORD,
    PROCESS_TYPES_RECORD,
    Deal,
    DealActivity,
    DealLine,
    DealMember,
)
from groupware.i18n import _l
from groupware.mail.filing import FilingKind
from groupware.search import Provider
from groupware.web import QuickCreate
from groupware.wiring import Area

AREA = Area(
    "deals",
    models=(Deal, DealMember, DealLine, DealActivity),
    access_modules=(DEALS_MODULE,),
    record_types=(DEALS_RECORD, PROCESS_TYPES_RECORD),
    pages=(web, reports_web),
    apis=(api.api,),
    alert_sources=(alerts.SOURCE,),
    calendar_sources=((calendar.MEETING, calendar.meeting_moved),),
    partner_sections=(web.PARTNER_SECTION,),
    deal_timelines=(service.activities,),
    merge_links=(MergeLink("deals", Deal.partner_id, _l("Deals")),),
    # deal-12@<mail domain>, ana+deal-12@..., and [D-12] in a subject
    filing_kinds=(FilingKind("deal", "deals", Deal.id, tag="D"),),
    search_providers=(
        Provider("deals", _l("Deals"), queries.search_rows, more="/deals?q={q}", order=30),
    ),
    quick_create=(QuickCreate(_l("Deal"), "deal_new", module="deals", order=30),),
)
