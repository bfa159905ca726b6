"""Campaigns: campaign types with their phase templates (edited beside the deal types)
and campaigns that follow them, with access, sharing and history like every record."""

from groupware.campaigns import alerts, api, lists, web
from groupware.campaigns.models import (
    CAMPAIGNS_RECORD,
    Campaign,
    CampaignTarget,
    Rollout,
    SavedCriteria,
)
from groupware.campaigns.types import CAMPAIGN_TYPES, CAMPAIGNS_MODULE
from groupware.i18n import _l
from groupware.mail.filing import FilingKind
from groupware.wiring import Area

AREA = Area(
    "campaigns",
    models=(Campaign, CampaignTarget, SavedCriteria, Rollout),
    access_modules=(CAMPAIGNS_MODULE,),
    record_types=(CAMPAIGNS_RECORD,),
    pages=(web,),
    partner_sections=(web.PARTNER_SECTION,),
    apis=(api.api,),
    lists=(lists.CAMPAIGNS,),
    alert_sources=(alerts.SOURCE,),
    # campaign-4@<mail domain>, ana+campaign-4@..., and [C-4] in a subject
    filing_kinds=(
        FilingKind(
            "campaign", "campaigns", Campaign.id, tag="C", label=_l("Campaign"), name=Campaign.name
        ),
    ),
    process_kinds=(CAMPAIGN_TYPES,),
)
