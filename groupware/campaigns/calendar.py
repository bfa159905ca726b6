"""A campaign's current phase deadline as a to-do in its owner's CRM task list
(:mod:`groupware.phases.deadlines`: UID ``campaign-<id>@groupware``, titled with the
phase and the campaign): there while the campaign is planned or under way."""

from __future__ import annotations

from sqlalchemy.orm import Session

from groupware.campaigns.models import Campaign
from groupware.i18n import _
from groupware.phases.deadlines import put_deadline

PREFIX = "campaign"


def push(session: Session, campaign: Campaign) -> None:
    """Put the campaign's deadline into its owner's task list, and out of anybody
    else's."""

    def summary() -> str:
        phase = campaign.phase.name if campaign.phase is not None else ""
        return _("%(phase)s: %(title)s", phase=phase, title=campaign.name)

    due = campaign.phase_due if campaign.is_open else None
    url = f"/campaigns/{campaign.id}"
    put_deadline(session, PREFIX, campaign.id, campaign.owner_id, due, summary, url)
