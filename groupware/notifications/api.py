"""API: ``/notifications``."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from groupware.api import Api, Call, PageQuery, page_of
from groupware.notifications import service

api = Api("notifications")


class NotificationOut(BaseModel):
    id: int
    created_at: dt.datetime
    kind: str
    title: str
    body: str
    link: str
    record_type: str | None
    record_id: int | None
    read_at: dt.datetime | None


class NotificationQuery(PageQuery):
    unread: bool = False


class ReadAllOut(BaseModel):
    marked: int


@api.operation(
    "GET",
    "/notifications",
    summary="Your notifications, newest first",
    response=NotificationOut,
    query=NotificationQuery,
    paginated=True,
)
def list_notifications(call: Call) -> tuple[list[object], str | None]:
    q: NotificationQuery = call.query
    rows = service.list_for(
        call.db, call.user.id, unread_only=q.unread, before_id=q.after_id(), limit=q.limit + 1
    )
    return page_of(rows, q.limit)


@api.operation(
    "POST",
    "/notifications/{notification_id}/read",
    summary="Mark a notification read",
    response=NotificationOut,
)
def read_notification(call: Call) -> object:
    return service.mark_read(call.db, call.user.id, call.int_param("notification_id"))


@api.operation(
    "POST",
    "/notifications/read-all",
    summary="Mark all your notifications read",
    response=ReadAllOut,
)
def read_all(call: Call) -> ReadAllOut:
    return ReadAllOut(marked=service.mark_all_read(call.db, call.user.id))
