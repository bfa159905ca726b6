"""Notes and logged calls: add one to a record, read one, delete one, list those a user
may see; and the two stream sources that show them.

Access follows the record they are on (:class:`~groupware.access.policy.RecordAccess`
``on_record``): whoever may see a record may read and add its notes and calls. A note
or call is deleted by the one who wrote it, or by someone who may edit the record.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field, model_validator
from sqlalchemy import Select, select
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, can, get_for_user, parent_of, visible
from groupware.activities.models import (
    DIRECTION_LABELS,
    MAX_MINUTES,
    OUTCOME_LABELS,
    Activity,
)
from groupware.db import utcnow
from groupware.errors import Forbidden, Invalid
from groupware.i18n import _l, gettext
from groupware.stream import StreamItem, Target, Window, ordered, target
from groupware.validation import LocalWhole, OptionalLocalDateTime, Schema

# A call logged a little ahead of the server's clock is fine; a day ahead is a mistake.
FUTURE_SLACK = dt.timedelta(minutes=10)


class ActivityIn(Schema):
    """A note (``body``), or a call: which way, how it ended, how long, and a summary."""

    kind: Literal["note", "call"] = "note"
    body: str = Field(default="", max_length=20_000)
    direction: Literal["out", "in"] | None = None
    outcome: Literal["reached", "no_answer", "busy", "voicemail", "wrong_number"] | None = None
    duration_minutes: LocalWhole = Field(
        default=0, ge=0, le=MAX_MINUTES, description="how long a call took; 0: not said"
    )
    occurred_at: OptionalLocalDateTime = Field(
        default=None, description="when it happened; empty: now"
    )

    @model_validator(mode="after")
    def _shape(self) -> ActivityIn:
        if self.kind == "note":
            if not self.body:
                raise Invalid({"body": _l("Write the note.")})
            self.direction = self.outcome = None
            self.duration_minutes = 0
        else:
            self.direction = self.direction or "out"
            self.outcome = self.outcome or "reached"
        if self.occurred_at is not None and self.occurred_at > utcnow() + FUTURE_SLACK:
            raise Invalid(
                {"occurred_at": _l("This is in the future: schedule a meeting or a task instead.")}
            )
        return self


def get_activity_for_user(
    session: Session, who: Who, activity_id: int, action: str = "view"
) -> Activity:
    return get_for_user(
        session, who, Activity, activity_id, action, options=[joinedload(Activity.author)]
    )


def add_activity(
    session: Session, who: Who, record_type: str, record_id: int, data: ActivityIn
) -> Activity:
    """Put a note or a call on a record the user may see."""
    on = target(session, who, record_type, record_id)
    row = Activity(
        kind=data.kind,
        record_type=on.record_type,
        record_id=on.record_id,
        body=data.body,
        direction=data.direction,
        outcome=data.outcome,
        duration_minutes=data.duration_minutes or None,
        author_id=who.id,
        **({"occurred_at": data.occurred_at} if data.occurred_at is not None else {}),
    )
    session.add(row)
    session.flush()
    return row


def may_delete(session: Session, who: Who, row: Activity) -> bool:
    if who.id is not None and row.author_id == who.id:
        return True
    on = parent_of(session, row)
    return on is not None and can(session, who, on, "edit")


def delete_activity(session: Session, who: Who, activity_id: int) -> Activity:
    """Delete a note or call: its author may, or whoever may edit the record it is on."""
    row = get_activity_for_user(session, who, activity_id)
    if not may_delete(session, who, row):
        raise Forbidden(_l("Only its author or someone who may edit the record deletes this."))
    session.delete(row)
    session.flush()
    return row


def activities_query(
    who: Who, *, record_type: str | None = None, record_id: int | None = None
) -> Select[Any]:
    """The notes and calls ``who`` may see (on one record), oldest first."""
    query = select(Activity).where(visible(Activity, who)).options(joinedload(Activity.author))
    if record_type:
        query = query.where(Activity.record_type == record_type)
    if record_id is not None:
        query = query.where(Activity.record_id == record_id)
    return query.order_by(Activity.id)


# -- the stream ------------------------------------------------------------------------


def facts(row: Activity) -> tuple[str, ...]:
    """What a call's entry says beside it: which way, how it ended, how long."""
    if row.kind != "call":
        return ()
    found = [
        str(DIRECTION_LABELS.get(row.direction or "", "")),
        str(OUTCOME_LABELS.get(row.outcome or "", "")),
    ]
    if row.duration_minutes:
        found.append(gettext("%(num)d min", num=row.duration_minutes))
    return tuple(f for f in found if f)


def _items(kind: str) -> Any:
    def load(session: Session, who: Who, on: Target, window: Window) -> list[StreamItem]:
        query = (
            select(Activity)
            .where(
                Activity.record_type == on.record_type,
                Activity.record_id == on.record_id,
                Activity.kind == kind,
                window.clause(kind, Activity.occurred_at, Activity.id),
            )
            .options(joinedload(Activity.author))
            .order_by(*ordered(window, Activity.occurred_at, Activity.id))
            .limit(window.limit)
        )
        rows = list(session.scalars(query))
        editor = bool(rows) and can(session, who, on.record, "edit")
        return [
            StreamItem(
                at=row.occurred_at,
                kind=kind,
                ident=row.id,
                title="",
                text=row.body,
                author=row.author.full_name if row.author else "",
                link=f"/activities/{row.id}",
                facts=facts(row),
                delete=(
                    f"/activities/{row.id}/delete"
                    if editor or (who.id is not None and row.author_id == who.id)
                    else ""
                ),
            )
            for row in rows
        ]

    return load


notes = _items("note")
calls = _items("call")
