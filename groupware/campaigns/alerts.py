"""What is late on a campaign, for the alert job: its current phase past its planned
end while the campaign is planned or under way (subject ``phase:<id>``: a later phase
that runs late is a new alert). Escalation is the job's, as for deals."""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, String, cast, literal, select
from sqlalchemy.orm import Session

from groupware.campaigns.models import OPEN_STATUSES, RECORD, Campaign
from groupware.i18n import _
from groupware.phases.alerts import AlertSource, Message, Raised, late_message
from groupware.phases.models import Phase

CHUNK = 5000


def late_campaigns(before: dt.date) -> Select[Any]:
    query = select(
        Campaign.id.label("record_id"),
        (literal("phase:") + cast(Campaign.phase_id, String)).label("subject"),
        Campaign.phase_due.label("due"),
        Campaign.owner_id.label("owner_id"),
    ).where(
        Campaign.status.in_(OPEN_STATUSES),
        Campaign.phase_due < before,
        Campaign.phase_id.is_not(None),
    )
    return typing.cast(Select[Any], query)  # the job reads its columns by name


def messages(session: Session, raised: Sequence[Raised], today: dt.date) -> dict[int, Message]:
    ids = sorted({r.record_id for r in raised})
    found: dict[int, Any] = {}
    for start in range(0, len(ids), CHUNK):
        query = (
            select(Campaign.id, Campaign.name, Phase.name.label("phase"))
            .outerjoin(Phase, Phase.id == Campaign.phase_id)
            .where(Campaign.id.in_(ids[start : start + CHUNK]))
        )
        found.update((row.id, row) for row in session.execute(query))
    result: dict[int, Message] = {}
    for r in raised:
        row = found.get(r.record_id)
        if row is not None:
            result[r.alert_id] = _message(r, row.name, row.phase or "", today)
    return result


def _message(r: Raised, name: str, phase: str, today: dt.date) -> Message:
    def said() -> str:
        return _("Phase %(phase)s of campaign %(name)s is late", phase=phase, name=name)

    return late_message(r, today, f"/campaigns/{r.record_id}", said)


SOURCE = AlertSource(RECORD, late_campaigns, messages)
