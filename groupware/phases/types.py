"""Process types (a kind of deal, of campaign, later of inquiry) and their phase
templates, which the process's administrators edit in one editor.

An area whose records follow a phase template declares a :class:`ProcessKind`
(``Area.process_kinds``): what its types are called and whose administrators edit them.
The pages (:mod:`groupware.phases.types_web`) and the API operations
(:func:`groupware.phases.types_api.declare`) are the same for every kind.

Changing a template changes the plan of records started afterwards; records under way
keep the phases and planned dates they were given (their history stays true)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from groupware.access.policy import Who
from groupware.db import holder_of
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.i18n import _l
from groupware.phases.models import ProcessType, TypePhase
from groupware.validation import LocalWhole, Schema, fail


@dataclass(frozen=True)
class ProcessKind:
    """A process with typed phase templates, as its area declares it.

    ``process`` is the value of ``ProcessType.process`` and, with ``-types``, the last
    part of its editor's address (``/admin/deal-types``) and of its API collection;
    ``module`` the access module whose administrators edit its types. The words are
    the kind's own, so that every page and message names what it edits."""

    process: str
    module: str
    title: Any  # "Deal types"
    new: Any  # "New deal type"
    edit: Any  # "Edit deal type"
    none_yet: Any  # "No deal types yet."
    in_use: Any  # "In use for new deals"
    keeps_plans: Any  # "... Deals already started keep their plans."
    refused: Any  # "Only administrators of sales and purchases edit deal types."
    missing: Any  # "There is no such deal type."
    taken: Any  # "Another deal type has this name."
    saved: Callable[[str], str]  # "Deal type %(name)s is saved."
    # The directions a type may be kept to, with their labels (deals: sale or
    # purchase); none for a process without directions.
    directions: Mapping[str, Any] = field(default_factory=dict)
    order: int = 100

    @property
    def slug(self) -> str:
        return f"{self.process}-types"


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


def may_edit(who: Who, kind: ProcessKind) -> bool:
    return who.can(kind.module, "admin")


def list_types(
    session: Session, kind: ProcessKind, *, active_only: bool = False
) -> list[ProcessType]:
    query = (
        select(ProcessType)
        .where(ProcessType.process == kind.process)
        .options(selectinload(ProcessType.phases))
        .order_by(ProcessType.name)
    )
    if active_only:
        query = query.where(ProcessType.is_active)
    return list(session.scalars(query))


def get_type(session: Session, kind: ProcessKind, type_id: int) -> ProcessType:
    type_ = session.get(ProcessType, type_id, options=[selectinload(ProcessType.phases)])
    if type_ is None or type_.process != kind.process:
        raise NotFound(kind.missing)
    return type_


def save_type(
    session: Session, who: Who, kind: ProcessKind, type_id: int | None, data: TypeIn
) -> ProcessType:
    """Create a type (``type_id`` None) or change one; phases are matched by position."""
    if not may_edit(who, kind):
        raise Forbidden(kind.refused)
    if data.direction is not None and data.direction not in kind.directions:
        raise Invalid({"direction": _l("This kind of type has no direction.")})
    # A name is unique among the types of one process (a campaign type may share a
    # deal type's name).
    taken = holder_of(session, ProcessType.name, data.name, ProcessType.process == kind.process)
    if taken is not None and taken != type_id:
        raise Invalid({"name": kind.taken})
    if type_id is None:
        type_ = ProcessType(process=kind.process)
        session.add(type_)
    else:
        type_ = get_type(session, kind, type_id)
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
