"""Notes and logged calls.

An activity is on one record, named by ``record_type`` and ``record_id`` (any record
type with a stream, :func:`groupware.stream.stream_types`); whoever may see that record
sees its activities, and may add to them (the access policy's ``on_record`` rule). A
call says which way it went, how it ended and how long it took. ``occurred_at`` is when
it happened (a call logged afterwards), ``created_at`` when it was written down.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.access.policy import ON_RECORD, RecordAccess
from groupware.accounts.models import User
from groupware.db import Base, utcnow
from groupware.i18n import _l
from groupware.records import DATETIME, NUMBER, RecordType, choice, ref
from groupware.stream import stream_types

KINDS = ("note", "call")
DIRECTIONS = ("out", "in")
OUTCOMES = ("reached", "no_answer", "busy", "voicemail", "wrong_number")
MAX_MINUTES = 24 * 60
KIND_LABELS = {"note": _l("note"), "call": _l("call")}
DIRECTION_LABELS = {"out": _l("outgoing"), "in": _l("incoming")}
OUTCOME_LABELS = {
    "reached": _l("reached"),
    "no_answer": _l("no answer"),
    "busy": _l("busy"),
    "voicemail": _l("left a message"),
    "wrong_number": _l("wrong number"),
}


class Activity(Base):
    __tablename__ = "activities"
    __tracked__ = True
    __access__ = RecordAccess(
        module=ON_RECORD,
        owner=None,
        on_record=("record_type", "record_id"),
        on_types=stream_types,
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, default="")
    direction: Mapped[str | None] = mapped_column(String(3), default=None)
    outcome: Mapped[str | None] = mapped_column(String(16), default=None)
    duration_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint("kind IN ('note', 'call')", name="kind"),
        CheckConstraint("direction IS NULL OR direction IN ('out', 'in')", name="direction"),
        CheckConstraint(
            "outcome IS NULL OR outcome IN "
            "('reached', 'no_answer', 'busy', 'voicemail', 'wrong_number')",
            name="outcome",
        ),
        CheckConstraint(
            f"duration_minutes IS NULL OR duration_minutes BETWEEN 0 AND {MAX_MINUTES}",
            name="duration",
        ),
        CheckConstraint("kind = 'call' OR body != ''", name="body"),
        # A record's stream reads its notes and calls newest first.
        Index("ix_activities_record", "record_type", "record_id", "kind", "occurred_at", "id"),
        Index("ix_activities_author_id", "author_id"),
    )

    def __str__(self) -> str:
        first = self.body.strip().splitlines()[0] if self.body.strip() else ""
        return first[:80] or str(KIND_LABELS.get(self.kind, self.kind))


ACTIVITIES_RECORD = RecordType(
    "activities",
    _l("Note or call"),
    "/activities/{id}",
    {
        "kind": _l("Kind"),
        "record_type": _l("On"),
        "record_id": _l("Record"),
        "direction": _l("Direction"),
        "outcome": _l("Outcome"),
        "duration_minutes": _l("Minutes"),
        "occurred_at": _l("When"),
        "author_id": _l("Written by"),
    },
    values={
        "kind": choice(KIND_LABELS),
        "direction": choice(DIRECTION_LABELS),
        "outcome": choice(OUTCOME_LABELS),
        "duration_minutes": NUMBER,
        "occurred_at": DATETIME,
        "author_id": ref("users"),
    },
    summary=("kind", "occurred_at"),
    api_url="/api/v1/activities",
)
