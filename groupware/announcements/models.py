"""The announcements table and its access rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    and_,
    false,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.access.policy import Module, RecordAccess, Who
from groupware.accounts.models import Team, User
from groupware.db import Base, utcnow
from groupware.i18n import _l, today
from groupware.records import DATE, DATETIME, RecordType, choice

MODULE = Module("announcements", _l("Announcements"))
ANNOUNCEMENTS_RECORD = RecordType(
    "announcements",
    _l("Announcement"),
    "/announcements/{id}",
    {
        "audience": _l("For"),
        "pinned": _l("Pinned"),
        "published_at": _l("Published"),
        "expires_on": _l("Show until"),
    },
    values={
        "audience": choice({"company": _l("the whole company"), "team": _l("one team")}),
        "published_at": DATETIME,
        "expires_on": DATE,
    },
    summary=("audience", "team_id"),
    list_url="/announcements",
    api_url="/api/v1/announcements",
)


def _published_to(model: Any, who: Who) -> ColumnElement[bool]:
    audience = model.audience == "company"
    if who.team_ids:
        audience = or_(audience, and_(model.audience == "team", model.team_id.in_(who.team_ids)))
    if who.id is None:
        return false()
    return and_(
        model.status == "published",
        audience,
        or_(model.expires_on.is_(None), model.expires_on >= today()),
    )


class Announcement(Base):
    __tablename__ = "announcements"
    __tracked__ = True
    __access__ = RecordAccess(
        module="announcements",
        owner="owner_id",
        team="team_id",
        public=_published_to,
        public_reason=_l("It is published to you."),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), default=None, index=True)
    audience: Mapped[str] = mapped_column(String(16), default="company")
    status: Mapped[str] = mapped_column(String(16), default="draft")
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    expires_on: Mapped[dt.date | None] = mapped_column(Date, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])

    __table_args__ = (
        CheckConstraint("audience IN ('company', 'team')", name="audience"),
        CheckConstraint("status IN ('draft', 'published')", name="status"),
        CheckConstraint("audience = 'company' OR team_id IS NOT NULL", name="team_audience"),
        Index("ix_announcements_status_published_at", "status", "published_at"),
    )

    def __str__(self) -> str:
        return self.title
