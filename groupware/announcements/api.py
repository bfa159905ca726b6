"""API: ``/announcements``."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from groupware.announcements import service
from groupware.announcements.models import Announcement
from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.validation import OptionalId, OptionalLocalDate, Schema, validate

api = Api("announcements")


class AnnouncementOut(Out):
    id: int
    title: str
    body: str
    owner_id: int
    owner_name: str
    team_id: int | None
    audience: str
    status: str
    pinned: bool
    published_at: dt.datetime | None
    expires_on: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


class AnnouncementQuery(PageQuery):
    q: str = ""
    status: Literal["draft", "published"] | None = None
    mine: bool = False


class AnnouncementPatch(Schema):
    """The fields to change; the rest stay as they are. The changed announcement is
    checked as a whole (a team audience needs a team, given now or before)."""

    title: str | None = Field(default=None, min_length=1, max_length=200)
    body: str | None = Field(default=None, max_length=20000)
    audience: Literal["company", "team"] | None = None
    team_id: OptionalId = None
    pinned: bool | None = None
    expires_on: OptionalLocalDate = None


def announcement_out(row: Announcement) -> AnnouncementOut:
    return AnnouncementOut.of(row, owner_name=row.owner.full_name)


@api.operation(
    "GET",
    "/announcements",
    summary="Announcements you may see, newest first",
    response=AnnouncementOut,
    query=AnnouncementQuery,
    paginated=True,
)
def list_announcements(call: Call) -> tuple[list[AnnouncementOut], str | None]:
    q: AnnouncementQuery = call.query
    rows = service.list_announcements(
        call.db,
        call.who,
        q=q.q,
        status=q.status,
        mine=q.mine,
        before_id=q.after_id(),
        limit=q.limit + 1,
    )
    page, cursor = page_of(rows, q.limit)
    return [announcement_out(r) for r in page], cursor


@api.operation(
    "POST",
    "/announcements",
    summary="Write an announcement (a draft until published)",
    response=AnnouncementOut,
    body=service.AnnouncementIn,
    status=201,
)
def create_announcement(call: Call) -> AnnouncementOut:
    row = service.create_announcement(call.db, call.who, call.body)
    call.db.refresh(row)
    return announcement_out(row)


@api.operation(
    "GET", "/announcements/{announcement_id}", summary="One announcement", response=AnnouncementOut
)
def get_announcement(call: Call) -> AnnouncementOut:
    return announcement_out(
        service.get_announcement_for_user(call.db, call.who, call.int_param("announcement_id"))
    )


@api.operation(
    "PATCH",
    "/announcements/{announcement_id}",
    summary="Change an announcement",
    response=AnnouncementOut,
    body=AnnouncementPatch,
)
def patch_announcement(call: Call) -> AnnouncementOut:
    row = service.get_announcement_for_user(
        call.db, call.who, call.int_param("announcement_id"), "edit"
    )
    current = {
        "title": row.title,
        "body": row.body,
        "audience": row.audience,
        "team_id": row.team_id,
        "pinned": row.pinned,
        "expires_on": row.expires_on,
    }
    merged = {**current, **call.body.model_dump(exclude_unset=True)}
    service.update_announcement(call.db, call.who, row, validate(service.AnnouncementIn, merged))
    return announcement_out(row)


@api.operation(
    "POST",
    "/announcements/{announcement_id}/publish",
    summary="Publish an announcement to its audience",
    response=AnnouncementOut,
)
def publish_announcement(call: Call) -> AnnouncementOut:
    row = service.get_announcement_for_user(
        call.db, call.who, call.int_param("announcement_id"), "edit"
    )
    service.publish(call.db, row)
    return announcement_out(row)


@api.operation(
    "POST",
    "/announcements/{announcement_id}/withdraw",
    summary="Withdraw a published announcement (back to draft)",
    response=AnnouncementOut,
)
def withdraw_announcement(call: Call) -> AnnouncementOut:
    row = service.get_announcement_for_user(
        call.db, call.who, call.int_param("announcement_id"), "edit"
    )
    service.publish(call.db, row, published=False)
    return announcement_out(row)


@api.operation(
    "DELETE", "/announcements/{announcement_id}", summary="Delete an announcement", status=204
)
def delete_announcement(call: Call) -> None:
    row = service.get_announcement_for_user(
        call.db, call.who, call.int_param("announcement_id"), "delete"
    )
    service.delete_announcement(call.db, row)
