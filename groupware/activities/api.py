"""API: notes and logged calls (``/activities``, ``/records/{type}/{id}/activities``)
and a record's activity stream (``/records/{type}/{id}/stream``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from groupware import stream
from groupware.activities import service
from groupware.activities.models import Activity
from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.stream import Cursor, Window
from groupware.validation import Schema

api = Api("activities")


class ActivityQuery(PageQuery):
    record_type: str = Field(default="", max_length=64)
    record_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class ActivityOut(Out):
    id: int
    kind: str
    record_type: str
    record_id: int
    body: str
    direction: str | None
    outcome: str | None
    duration_minutes: int | None
    occurred_at: dt.datetime
    author_id: int | None
    created_at: dt.datetime


@api.operation(
    "GET",
    "/activities",
    summary="Notes and logged calls you may see (those of one record)",
    response=ActivityOut,
    query=ActivityQuery,
    paginated=True,
)
def list_activities(call: Call) -> tuple[list[Activity], str | None]:
    q: ActivityQuery = call.query
    query = service.activities_query(call.who, record_type=q.record_type, record_id=q.record_id)
    after = q.after_id()
    if after is not None:
        query = query.where(Activity.id > after)
    return page_of(list(call.db.scalars(query.limit(q.limit + 1))), q.limit)


@api.operation(
    "GET", "/activities/{activity_id}", summary="One note or logged call", response=ActivityOut
)
def get_activity(call: Call) -> Activity:
    return service.get_activity_for_user(call.db, call.who, call.int_param("activity_id"))


@api.operation(
    "POST",
    "/records/{record_type}/{record_id}/activities",
    summary="Put a note or a logged call on a record (a partner, person, deal, task...)",
    response=ActivityOut,
    body=service.ActivityIn,
    status=201,
)
def add_activity(call: Call) -> Activity:
    return service.add_activity(
        call.db, call.who, call.param("record_type"), call.int_param("record_id"), call.body
    )


@api.operation(
    "DELETE",
    "/activities/{activity_id}",
    summary="Delete a note or call (its author, or someone who may edit the record)",
    status=204,
)
def delete_activity(call: Call) -> None:
    service.delete_activity(call.db, call.who, call.int_param("activity_id"))


class StreamQuery(Schema):
    kind: str = Field(
        default="", max_length=200, description="kinds to show, comma-separated; empty: all"
    )
    before: str = Field(default="", max_length=60, description="the next_cursor of a page")
    limit: int = Field(default=stream.PAGE, ge=1, le=stream.MAX_PAGE)


class ChangeOut(BaseModel):
    label: str
    old: str
    new: str


class StreamItemOut(BaseModel):
    at: dt.datetime
    kind: str
    id: int
    title: str
    text: str
    author: str
    link: str
    facts: list[str]
    changes: list[ChangeOut]


@api.operation(
    "GET",
    "/records/{record_type}/{record_id}/stream",
    summary="A record's activity stream, newest first: notes, calls, meetings, tasks, mail, "
    "changes",
    response=StreamItemOut,
    query=StreamQuery,
    paginated=True,
)
def record_stream(call: Call) -> tuple[list[StreamItemOut], str | None]:
    q: StreamQuery = call.query
    where = stream.target(call.db, call.who, call.param("record_type"), call.int_param("record_id"))
    window = Window(limit=q.limit, before=Cursor.parse(q.before) if q.before else None)
    kinds = [k.strip() for k in q.kind.split(",") if k.strip()]
    found = stream.read(call.db, call.who, where, kinds=kinds, window=window)
    items = [
        StreamItemOut(
            at=item.at,
            kind=item.kind,
            id=item.ident,
            title=_plain(item.title),
            text=item.text,
            author=item.author,
            link=item.link,
            facts=list(item.facts),
            changes=[
                ChangeOut(label=c.label, old=_plain(c.old), new=_plain(c.new)) for c in item.changes
            ],
        )
        for item in found.items
    ]
    return items, found.next.text() if found.next else None


def _plain(value: object) -> str:
    """Text of a value that may be markup (a change's sentence with its links)."""
    striptags = getattr(value, "striptags", None)
    return str(striptags()) if callable(striptags) else str(value)
