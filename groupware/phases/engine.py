"""Planning a record's phases from its type's template and moving through them.

Plain functions over a session; the record's own service (deals, later campaigns and
inquiries) checks access and calls these. Planned dates are the baseline: they are
worked out once, when the record starts (or changes type), and lateness is measured
against them. Moving records actual dates:

- forward: the current phase ends, the phases jumped over are marked skipped (no
  actual dates), the target starts;
- back: the target starts again (its end is cleared) and the later phases are cleared.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from groupware.errors import Invalid
from groupware.i18n import _l
from groupware.phases.models import Phase, ProcessType


@dataclass(frozen=True)
class PhaseState:
    """What a timeline shows for one phase."""

    phase: Phase
    state: str  # "done", "current", "skipped" or "planned"
    late_days: int


def plan(
    session: Session, record_type: str, record_id: int, type_: ProcessType, start: dt.date
) -> list[Phase]:
    """Replace the record's phases by the type's template, planned from ``start``; the
    first phase starts on ``start``. A type without phases gives none."""
    session.execute(
        delete(Phase).where(Phase.record_type == record_type, Phase.record_id == record_id)
    )
    phases: list[Phase] = []
    begins = start
    for position, step in enumerate(type_.phases):
        ends = begins + dt.timedelta(days=step.planned_days)
        phases.append(
            Phase(
                record_type=record_type,
                record_id=record_id,
                type_phase_id=step.id,
                position=position,
                name=step.name,
                planned_days=step.planned_days,
                planned_start=begins,
                planned_end=ends,
                actual_start=start if position == 0 else None,
            )
        )
        begins = ends
    session.add_all(phases)
    session.flush()
    return phases


def phases_of(session: Session, record_type: str, record_id: int) -> list[Phase]:
    return list(
        session.scalars(
            select(Phase)
            .where(Phase.record_type == record_type, Phase.record_id == record_id)
            .order_by(Phase.position)
        )
    )


def current(phases: list[Phase]) -> Phase | None:
    return next((p for p in phases if p.is_current), None)


def move_to(phases: list[Phase], target_id: int, on: dt.date) -> Phase:
    """Make the phase ``target_id`` (one of ``phases``) the current one, as of ``on``."""
    target = next((p for p in phases if p.id == target_id), None)
    if target is None:
        raise Invalid({"phase_id": _l("This phase does not belong to this record's type.")})
    now = current(phases)
    if now is target:
        return target
    if now is not None and on < now.actual_start:  # type: ignore[operator]
        raise Invalid({"on": _l("A phase cannot end before it started.")})
    if now is None or target.position > now.position:
        for phase in phases:
            if phase.position >= target.position:
                break
            if phase.is_current:
                phase.actual_end = on
            # jumped over: never started, stays without actual dates (skipped)
        target.actual_start, target.actual_end = on, None
    else:
        for phase in phases:
            if phase.position > target.position:
                phase.actual_start = phase.actual_end = None
        target.actual_start = target.actual_start or on
        target.actual_end = None
    return target


def finish(phases: list[Phase], on: dt.date) -> None:
    """End the current phase (the record is closed)."""
    now = current(phases)
    if now is not None:
        now.actual_end = max(on, now.actual_start or on)


def reopen(phases: list[Phase]) -> Phase | None:
    """Start again the phase the record closed in (the last one with dates)."""
    started = [p for p in phases if p.actual_start is not None]
    if not started:
        return None
    last = started[-1]
    last.actual_end = None
    return last


def timeline(phases: list[Phase], today: dt.date) -> list[PhaseState]:
    now = current(phases)
    reached = (
        now.position
        if now is not None
        else max((p.position for p in phases if p.actual_start is not None), default=-1)
    )
    states = []
    for phase in phases:
        if phase.is_current:
            state = "current"
        elif phase.actual_end is not None:
            state = "done"
        elif phase.position < reached:
            state = "skipped"
        else:
            state = "planned"
        states.append(PhaseState(phase, state, phase.late_by(today)))
    return states
