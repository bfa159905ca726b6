"""Writing, publishing and listing announcements."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from groupware.access.policy import Who, get_for_user, require, visible
from groupware.announcements.models import Announcement
from groupware.db import escape_like, utcnow
from groupware.errors import Invalid
from groupware.i18n import _l, today
from groupware.validation import OptionalId, OptionalLocalDate, Schema, fail


class AnnouncementIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=20000)
    audience: Literal["company", "team"] = "company"
    team_id: OptionalId = None
    pinned: bool = False
    expires_on: OptionalLocalDate = None

    @model_validator(mode="after")
    def _team_for_team_audience(self) -> AnnouncementIn:
        if self.audience == "team" and self.team_id is None:
            raise fail(_l("Choose the team this announcement is for."))
        return self


def get_announcement_for_user(
    session: Session, who: Who, announcement_id: int, action: str = "view"
) -> Announcement:
    return get_for_user(
        session,
        who,
        Announcement,
        announcement_id,
        action,
        options=[joinedload(Announcement.owner), joinedload(Announcement.team)],
    )


def _check_team(who: Who, data: AnnouncementIn) -> None:
    if data.team_id is not None and data.team_id not in who.team_ids and not who.is_admin:
        raise Invalid({"team_id": _l("You can only address a team you belong to.")})


def _check_expiry(data: AnnouncementIn) -> None:
    if data.expires_on is not None and data.expires_on < today():
        raise Invalid({"expires_on": _l("The expiry date is in the past.")})


def create_announcement(session: Session, who: Who, data: AnnouncementIn) -> Announcement:
    require(who, "announcements", "create")
    _check_team(who, data)
    _check_expiry(data)
    assert who.id is not None
    row = Announcement(owner_id=who.id, **data.model_dump())
    session.add(row)
    session.flush()
    return row


def update_announcement(
    session: Session, who: Who, announcement: Announcement, data: AnnouncementIn
) -> Announcement:
    if data.team_id != announcement.team_id:
        _check_team(who, data)
    if data.expires_on != announcement.expires_on:
        _check_expiry(data)
    for key, value in data.model_dump().items():
        setattr(announcement, key, value)
    session.flush()
    return announcement


def publish(session: Session, announcement: Announcement, *, published: bool = True) -> None:
    announcement.status = "published" if published else "draft"
    announcement.published_at = utcnow() if published else None
    session.flush()


def delete_announcement(session: Session, announcement: Announcement) -> None:
    session.delete(announcement)
    session.flush()


def list_announcements(
    session: Session,
    who: Who,
    *,
    q: str = "",
    status: str | None = None,
    mine: bool = False,
    before_id: int | None = None,
    offset: int = 0,
    limit: int = 50,
) -> list[Announcement]:
    query = (
        select(Announcement)
        .where(visible(Announcement, who))
        .options(joinedload(Announcement.owner), joinedload(Announcement.team))
    )
    if q:
        query = query.where(Announcement.title.ilike(f"%{escape_like(q)}%", escape="\\"))
    if status:
        query = query.where(Announcement.status == status)
    if mine:
        query = query.where(Announcement.owner_id == who.id)
    if before_id is not None:
        query = query.where(Announcement.id < before_id)
    query = query.order_by(Announcement.id.desc()).offset(offset).limit(limit)
    return list(session.scalars(query))


def feed(session: Session, who: Who, *, limit: int = 10) -> list[Announcement]:
    """Published announcements for the dashboard: pinned first, then newest."""
    query = (
        select(Announcement)
        .where(visible(Announcement, who), Announcement.status == "published")
        .where((Announcement.expires_on.is_(None)) | (Announcement.expires_on >= today()))
        .options(joinedload(Announcement.owner))
        .order_by(Announcement.pinned.desc(), Announcement.published_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
