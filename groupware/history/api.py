"""API: ``/history``."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, Field

from groupware.api import Api, Call, PageQuery, page_of
from groupware.history.display import ChangeView, describe
from groupware.history.service import list_changes
from groupware.validation import Id, OptionalMoment

api = Api("history")


class FieldChangeOut(BaseModel):
    field: str = Field(description="The key in `changes`.")
    label: str
    old: str = Field(description="The old value as a person reads it.")
    new: str = Field(description="The new value as a person reads it.")


class ChangeOut(BaseModel):
    id: int
    at: dt.datetime
    actor_id: int | None
    actor_name: str | None
    channel: str
    action: str
    record_type: str
    record_id: int
    label: str
    changes: dict[str, list[Any]] = Field(
        description="Field name to [old, new], as stored (ids, codes, ISO dates)."
    )
    text: str = Field(
        description="What happened, in the caller's language, with linked records by name "
        "(or 'hidden' where the caller may not see them)."
    )
    details: list[FieldChangeOut] = Field(
        description="What changed (an update) or the key fields of a new record (a "
        "creation), in words."
    )


class HistoryQuery(PageQuery):
    record_type: str | None = None
    record_id: Id | None = None
    actor_id: Id | None = None
    channel: Literal["web", "api", "cli", "dav", "smtp", "job"] | None = None
    action: Literal["create", "update", "delete"] | None = None
    since: OptionalMoment = None
    until: OptionalMoment = None


def change_out(view: ChangeView) -> ChangeOut:
    change = view.change
    return ChangeOut(
        id=change.id,
        at=change.at,
        actor_id=change.actor_id,
        actor_name=change.actor.full_name if change.actor else None,
        channel=change.channel,
        action=change.action,
        record_type=change.record_type,
        record_id=change.record_id,
        label=change.label,
        changes=change.changes,
        text=view.text(),
        details=[
            FieldChangeOut(field=f.field, label=f.label, old=f.old.text, new=f.new.text)
            for f in view.fields
        ],
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


@api.operation(
    "GET",
    "/history",
    summary="Changes you may see, newest first",
    response=ChangeOut,
    query=HistoryQuery,
    paginated=True,
)
def get_history(call: Call) -> tuple[list[ChangeOut], str | None]:
    q: HistoryQuery = call.query
    rows = list_changes(
        call.db,
        call.who,
        record_type=q.record_type,
        record_id=q.record_id,
        actor_id=q.actor_id,
        channel=q.channel,
        action=q.action,
        since=_aware(q.since),
        until=_aware(q.until),
        before_id=q.after_id(),
        limit=q.limit + 1,
    )
    page, cursor = page_of(rows, q.limit)
    return [change_out(v) for v in describe(call.db, call.who, page)], cursor
