"""Saved views of lists, and the bulk changes that can still be taken back."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.accounts.models import Team
from groupware.db import Base, utcnow


class SavedView(Base):
    """A named shape of a list (its query string: filters, sort, columns) a user keeps,
    for themselves or shared with one of their teams (``team_id``)."""

    __tablename__ = "saved_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    list_name: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # A view shared with a team goes back to being its owner's alone without the team.
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    team: Mapped[Team | None] = relationship()

    __table_args__ = (
        UniqueConstraint("user_id", "list_name", "name"),
        Index("ix_saved_views_list_name_team_id", "list_name", "team_id"),
    )

    def __str__(self) -> str:
        return self.name


class BulkChange(Base):
    """A bulk action a user ran on a list, with what its undo needs (``payload``), until
    it is undone (``undone_at``) or too old to be."""

    __tablename__ = "bulk_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    list_name: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer)
    # The chosen value as the person saw it ("Ana Anić", "vip").
    value_label: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_bulk_changes_user_id_list_name_id", "user_id", "list_name", "id"),)
