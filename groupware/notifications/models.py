"""The notifications table."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from groupware.db import Base, utcnow


class Notification(Base):
    """A message to one user, in their language, with an optional link to a record.

    ``dedup_key`` lets a job post an alert once however often it runs: a second
    notification with the same key for the same user is not created.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32), default="info")
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    record_type: Mapped[str | None] = mapped_column(String(64), default=None)
    record_id: Mapped[int | None] = mapped_column(Integer, default=None)
    dedup_key: Mapped[str | None] = mapped_column(String(200), default=None)
    read_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    __table_args__ = (
        Index("ix_notifications_user_id_read_at", "user_id", "read_at", "id"),
        Index("uq_notifications_user_id_dedup_key", "user_id", "dedup_key", unique=True),
    )
