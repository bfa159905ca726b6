"""Campaign types: the campaigns' kind of process type (a newsletter, a fair, a phone
round...), each with the phases its campaigns go through, edited in the phases' type
editor (:mod:`groupware.phases.types`) beside the deal types."""

from __future__ import annotations

from groupware.access.policy import Module
from groupware.i18n import _, _l
from groupware.phases.types import ProcessKind

CAMPAIGNS_MODULE = Module("campaigns", _l("Campaigns"))

CAMPAIGN_TYPES = ProcessKind(
    "campaign",
    CAMPAIGNS_MODULE.name,
    title=_l("Campaign types"),
    new=_l("New campaign type"),
    edit=_l("Edit campaign type"),
    none_yet=_l("No campaign types yet."),
    in_use=_l("In use for new campaigns"),
    keeps_plans=_l(
        "Leave a name empty to drop the phase. Campaigns already started keep their plans."
    ),
    refused=_l("Only administrators of campaigns edit campaign types."),
    missing=_l("There is no such campaign type."),
    taken=_l("Another campaign type has this name."),
    saved=lambda name: _("Campaign type %(name)s is saved.", name=name),
    order=20,
)
