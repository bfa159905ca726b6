"""Record shares: any record can be shared with a user or a team, to read or to write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    delete,
    event,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from groupware.accounts.models import Team, User
from groupware.db import Base, utcnow


class Share(Base):
    __tablename__ = "shares"
    __tracked__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_type: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), default=None, index=True
    )
    permission: Mapped[str] = mapped_column(String(8), default="read")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])

    __table_args__ = (
        CheckConstraint("permission IN ('read', 'write')", name="permission"),
        CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="one_grantee"),
        # NULLs are distinct in unique constraints, so each of these only bites
        # on the kind of grantee it names.
        UniqueConstraint("record_type", "record_id", "user_id"),
        UniqueConstraint("record_type", "record_id", "team_id"),
        # "What is shared with me?" is asked by every list (see access.policy).
        Index("ix_shares_record_type_user_id", "record_type", "user_id", "record_id"),
        Index("ix_shares_record_type_team_id", "record_type", "team_id", "record_id"),
    )

    def __history_parent__(self) -> tuple[str, int, str]:
        return self.record_type, self.record_id, "share"

    def __str__(self) -> str:
        loaded = self.__dict__.get("user") or self.__dict__.get("team")
        grantee = str(loaded) if loaded else f"#{self.user_id or self.team_id}"
        return f"{grantee}: {self.permission}"


@event.listens_for(Base, "after_delete", propagate=True)
def _forget_shares(mapper: Mapper[Any], connection: Connection, target: Base) -> None:
    """A deleted record's shares go with it (they name it by type and id, not by key)."""
    if getattr(type(target), "__access__", None) is None:
        return
    record_id = mapper.primary_key_from_instance(target)[0]
    connection.execute(
        delete(Share).where(
            Share.record_type == type(target).__tablename__, Share.record_id == record_id
        )
    )
