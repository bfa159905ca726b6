"""Campaigns: campaign types with their phase templates (edited beside the deal types)
and campaigns that follow them, with access, sharing and history like every record;
their target lists (criteria, CSV lists, picks from the partner list, other campaigns)."""

from groupware.campaigns import (
    alerts,
    api,
    lists,
    results_web,
    rollout,
    rollout_web,
    targets_api,
    targets_web,
    web,
)
from groupware.campaigns.models import (
    CAMPAIGNS_RECORD,
    Campaign,
    CampaignTarget,
    Rollout,
    SavedCriteria,
)
from groupware.campaigns.types import CAMPAIGN_TYPES, CAMPAIGNS_MODULE
from groupware.crm.merge import MergeLink
from groupware.i18n import _l
from groupware.mail.filing import FilingKind
from groupware.wiring import Area

AREA = Area(
    "campaigns",
    models=(Campaign, CampaignTarget, SavedCriteria, Rollout),
    access_modules=(CAMPAIGNS_MODULE,),
    record_types=(CAMPAIGNS_RECORD,),
    pages=(web, targets_web, rollout_web, results_web),
    partner_sections=(web.PARTNER_SECTION,),
    # A merged partner's targets move to the kept one, unless it is a target already.
    merge_links=(
        MergeLink(
            "campaign_targets",
            CampaignTarget.partner_id,
            _l("Campaign targets"),
            unique=(CampaignTarget.campaign_id,),
        ),
    ),
    apis=(api.api, targets_api.api),
    lists=(lists.CAMPAIGNS, lists.TARGETS),
    # Partners picked by hand on the partner list.
    list_actions=(("partners", lists.ADD_TO_CAMPAIGN),),
    alert_sources=(alerts.SOURCE,),
    jobs=(rollout.RESUME_JOB,),
    # campaign-4@<mail domain>, ana+campaign-4@..., and [C-4] in a subject
    filing_kinds=(
        FilingKind(
            "campaign", "campaigns", Campaign.id, tag="C", label=_l("Campaign"), name=Campaign.name
        ),
    ),
    process_kinds=(CAMPAIGN_TYPES,),
)
