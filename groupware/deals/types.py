"""Deal types and their phase templates, which administrators edit.

Changing a template changes the plan of deals started afterwards; deals under way keep
the phases and planned dates they were given (their history stays true)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from groupware.access.policy import Who
from groupware.db import holder_of
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.i18n import _l
from groupware.phases.models import ProcessType, TypePhase
from groupware.validation import LocalWhole, Schema, fail


class StepIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    planned_days: LocalWhole = Field(default=7, ge=0, le=3650)


class TypeIn(Schema):
    name: str = Field(min_length=1, max_length=100)
    direction: Literal["sale", "purchase"] | None = None
    description: str = Field(default="", max_length=1000)
    is_active: bool = True
    phases: list[StepIn] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _unique_names(self) -> TypeIn:
        names = [p.name.lower() for p in self.phases]
        if len(set(names)) != len(names):
            raise fail(_l("Two phases have the same name."))
        return self


def _require_admin(who: Who) -> None:
    if not who.can("deals", "admin"):
        raise Forbidden(_l("Only administrators of sales and purchases edit deal types."))


def list_types(session: Session, *, active_only: bool = False) -> list[ProcessType]:
    query = (
        select(ProcessType)
        .where(ProcessType.process == "deal")
        .options(selectinload(ProcessType.phases))
        .order_by(ProcessType.name)
    )
    if active_only:
        query = query.where(ProcessType.is_active)
    return list(session.scalars(query))


def get_type(session: Session, type_id: int) -> ProcessType:
    type_ = session.get(ProcessType, type_id, options=[selectinload(ProcessType.phases)])
    if type_ is None or type_.process != "deal":
        raise NotFound(_l("There is no such deal type."))
    return type_


def save_type(session: Session, who: Who, type_id: int | None, data: TypeIn) -> ProcessType:
    """Create a type (``type_id`` None) or change one; phases are matched by position."""
    _require_admin(who)
    # A name is unique among the deal types (a campaign type may share it).
    taken = holder_of(session, ProcessType.name, data.name, ProcessType.process == "deal")
    if taken is not None and taken != type_id:
        raise Invalid({"name": _l("Another deal type has this name.")})
    if type_id is None:
        type_ = ProcessType(process="deal")
        session.add(type_)
    else:
        type_ = get_type(session, type_id)
    type_.name, type_.direction = data.name, data.direction
    type_.description, type_.is_active = data.description, data.is_active
    steps = list(type_.phases)
    for position, step in enumerate(data.phases):
        if position < len(steps):
            steps[position].name = step.name
            steps[position].planned_days = step.planned_days
        else:
            type_.phases.append(
                TypePhase(position=position, name=step.name, planned_days=step.planned_days)
            )
    for extra in steps[len(data.phases) :]:
        type_.phases.remove(extra)
    session.flush()
    return type_
