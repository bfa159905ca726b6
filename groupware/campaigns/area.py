"""Campaigns: so far the campaign types and their phase templates, edited beside the
deal types and in the API."""

from groupware.campaigns import api
from groupware.campaigns.types import CAMPAIGN_TYPES, CAMPAIGNS_MODULE
from groupware.wiring import Area

AREA = Area(
    "campaigns",
    access_modules=(CAMPAIGNS_MODULE,),
    apis=(api.api,),
    process_kinds=(CAMPAIGN_TYPES,),
)
