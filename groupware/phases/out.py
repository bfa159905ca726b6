"""A record's phases as the API shows them (deals, campaigns...): each phase with its
state on the timeline, planned and actual dates and how late it is."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from groupware.i18n import today
from groupware.phases import engine
from groupware.phases.models import Phase


class PhaseOut(BaseModel):
    id: int
    name: str
    state: str
    planned_start: dt.date
    planned_end: dt.date
    actual_start: dt.date | None
    actual_end: dt.date | None
    late_days: int


def timeline_out(phases: list[Phase]) -> list[PhaseOut]:
    return [
        PhaseOut(
            id=s.phase.id,
            name=s.phase.name,
            state=s.state,
            planned_start=s.phase.planned_start,
            planned_end=s.phase.planned_end,
            actual_start=s.phase.actual_start,
            actual_end=s.phase.actual_end,
            late_days=s.late_days,
        )
        for s in engine.timeline(phases, today())
    ]
