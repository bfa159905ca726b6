"""What is late on a deal, for the alert job: its current phase past its planned end
(subject ``phase:<id>``: a later phase that runs late is a new alert) and its expected
close date passed while it is still open (subject ``close``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, Select, String, any_, bindparam, cast, literal, select, union_all
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from groupware.deals.models import Deal
from groupware.i18n import _
from groupware.phases.alerts import AlertSource, Message, Raised, late_message
from groupware.phases.models import Phase

CHUNK = 5000


def late_deals(before: dt.date) -> Select[Any]:
    phase = select(
        Deal.id.label("record_id"),
        (literal("phase:") + cast(Deal.phase_id, String)).label("subject"),
        Deal.phase_due.label("due"),
        Deal.owner_id.label("owner_id"),
    ).where(Deal.status == "open", Deal.phase_due < before, Deal.phase_id.is_not(None))
    close = select(Deal.id, literal("close"), Deal.expected_close, Deal.owner_id).where(
        Deal.status == "open", Deal.expected_close < before
    )
    return select(union_all(phase, close).subquery())


def messages(session: Session, raised: Sequence[Raised], today: dt.date) -> dict[int, Message]:
    deal_ids = sorted({r.record_id for r in raised})
    query = select(Deal.id, Deal.title, Phase.name.label("phase")).outerjoin(
        Phase, Phase.id == Deal.phase_id
    )
    deals: dict[int, Any] = {}
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: a first run may raise hundreds of thousands at once.
        ids = bindparam("ids", deal_ids, type_=ARRAY(Integer))
        deals.update((row.id, row) for row in session.execute(query.where(Deal.id == any_(ids))))
    else:
        for start in range(0, len(deal_ids), CHUNK):
            chunk = deal_ids[start : start + CHUNK]
            deals.update((row.id, row) for row in session.execute(query.where(Deal.id.in_(chunk))))
    result: dict[int, Message] = {}
    for r in raised:
        deal = deals.get(r.record_id)
        if deal is None:
            continue
        result[r.alert_id] = _message(r, deal.title, deal.phase or "", today)
    return result


def _message(r: Raised, title: str, phase: str, today: dt.date) -> Message:
    def said() -> str:
        if r.subject == "close":
            return _("Deal %(title)s is past its expected close date", title=title)
        return _("Phase %(phase)s of deal %(title)s is late", phase=phase, title=title)

    return late_message(r, today, f"/deals/{r.record_id}", said)


SOURCE = AlertSource("deals", late_deals, messages)
