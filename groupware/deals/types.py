"""Deal types: the deals' kind of process type, edited in the phases' type editor
(:mod:`groupware.phases.types`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.deals.models import DIRECTION_LABELS
from groupware.i18n import _, _l
from groupware.phases import types
from groupware.phases.models import ProcessType
from groupware.phases.types import StepIn, TypeIn

__all__ = ["DEAL_TYPES", "StepIn", "TypeIn", "get_type", "list_types", "save_type"]

DEAL_TYPES = types.ProcessKind(
    "deal",
    "deals",
    title=_l("Deal types"),
    new=_l("New deal type"),
    edit=_l("Edit deal type"),
    none_yet=_l("No deal types yet."),
    in_use=_l("In use for new deals"),
    keeps_plans=_l("Leave a name empty to drop the phase. Deals already started keep their plans."),
    refused=_l("Only administrators of sales and purchases edit deal types."),
    missing=_l("There is no such deal type."),
    taken=_l("Another deal type has this name."),
    saved=lambda name: _("Deal type %(name)s is saved.", name=name),
    directions=DIRECTION_LABELS,
    order=10,
)


def list_types(session: Session, *, active_only: bool = False) -> list[ProcessType]:
    return types.list_types(session, DEAL_TYPES, active_only=active_only)


def get_type(session: Session, type_id: int) -> ProcessType:
    return types.get_type(session, DEAL_TYPES, type_id)


def save_type(session: Session, who: Who, type_id: int | None, data: TypeIn) -> ProcessType:
    return types.save_type(session, who, DEAL_TYPES, type_id, data)
