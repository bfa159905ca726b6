"""Campaigns: campaign types with their phase templates (edited beside the deal types)
and campaigns that follow them, with access, sharing and history like every record."""

from groupware.campaigns import alerts, api, lists, web
from groupware.campaigns.models import CAMPAIGNS_RECORD, Campaign
from groupware.campaigns.types import CAMPAIGN_TYPES, CAMPAIGNS_MODULE
from groupware.wiring import Area

AREA = Area(
    "campaigns",
    models=(Campaign,),
    access_modules=(CAMPAIGNS_MODULE,),
    record_types=(CAMPAIGNS_RECORD,),
    pages=(web,),
    apis=(api.api,),
    lists=(lists.CAMPAIGNS,),
    alert_sources=(alerts.SOURCE,),
    process_kinds=(CAMPAIGN_TYPES,),
)
