"""Accounts: users, teams, roles with their grants, sessions and credentials."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship
from sqlalchemy.orm.util import identity_key

from groupware.db import Base, utcnow


def _in_session(obj: object, model: type[Base], key: int) -> Base | None:
    """``model`` row ``key`` if the object's session holds it already (no query: this
    runs while history is recorded, in the middle of a flush)."""
    session = object_session(obj)
    if session is None:
        return None
    return session.identity_map.get(identity_key(model, key))


def user_name_of(row: Any) -> str:
    """The name of the user a link row (a team member, a further rep) points to, for
    history labels: from the loaded relationship or the session, else ``#id``."""
    user = row.__dict__.get("user") or _in_session(row, User, row.user_id)
    return str(user) if user is not None else f"#{row.user_id}"


class User(Base):
    __tablename__ = "users"
    __tracked__ = True
    # The language is a person's own setting, not a business change: switching it
    # must not fill everyone's "recent changes" (nor the history API).
    __history_exclude__ = frozenset({"password_hash", "last_login_at", "language"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    language: Mapped[str] = mapped_column(String(5), default="hr")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    memberships: Mapped[list[TeamMember]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    # Roles are changed through ``role_links`` so that history sees each change.
    role_links: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan")
    roles: Mapped[list[Role]] = relationship(
        secondary="user_roles", order_by="Role.name", viewonly=True
    )

    __table_args__ = (CheckConstraint("language IN ('hr', 'en')", name="language"),)

    def __str__(self) -> str:
        return self.full_name or self.username


class Team(Base):
    __tablename__ = "teams"
    __tracked__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    members: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan"
    )

    def __str__(self) -> str:
        return self.name


class TeamMember(Base):
    __tablename__ = "team_members"
    __tracked__ = True
    __history_parent__ = ("teams", "team_id", "member")

    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    is_lead: Mapped[bool] = mapped_column(Boolean, default=False)

    team: Mapped[Team] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")

    def __str__(self) -> str:
        name = user_name_of(self)
        return f"{name} ★" if self.is_lead else name


class Role(Base):
    __tablename__ = "roles"
    __tracked__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)

    grants: Mapped[list[Grant]] = relationship(
        back_populates="role", cascade="all, delete-orphan", order_by="Grant.id"
    )

    def __str__(self) -> str:
        return self.name


class Grant(Base):
    """A role may do ``action`` in ``module`` on records within ``scope``."""

    __tablename__ = "grants"
    __tracked__ = True
    __history_parent__ = ("roles", "role_id", "grant")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))

    role: Mapped[Role] = relationship(back_populates="grants")

    __table_args__ = (
        UniqueConstraint("role_id", "module", "action", "scope"),
        CheckConstraint(
            "action IN ('view', 'create', 'edit', 'delete', 'export', 'share', 'admin')",
            name="action",
        ),
        CheckConstraint("scope IN ('own', 'team', 'territory', 'all')", name="scope"),
    )

    def __str__(self) -> str:
        return f"{self.module}.{self.action}:{self.scope}"


class UserRole(Base):
    __tablename__ = "user_roles"
    __tracked__ = True
    __history_parent__ = ("users", "user_id", "role")

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    role: Mapped[Role] = relationship(viewonly=True)

    def __str__(self) -> str:
        role = self.__dict__.get("role") or _in_session(self, Role, self.role_id)
        return str(role) if role is not None else f"#{self.role_id}"


class WebSession(Base):
    """A browser login. The cookie holds a random token; only its hash is stored."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")

    user: Mapped[User] = relationship()


class Credential(Base):
    """A personal API token or an app password: random secrets, stored as hashes.

    API tokens authenticate the JSON API (``Authorization: Bearer``); app passwords let
    a CalDAV, SMTP or WebDAV client log in without the account password, each revocable
    on its own.
    """

    __tablename__ = "credentials"
    __tracked__ = True
    __history_parent__ = ("users", "user_id", "credential")
    __history_exclude__ = frozenset({"secret_hash", "last_used_at"})

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("kind IN ('api_token', 'app_password')", name="kind"),
        Index("ix_credentials_user_id_kind", "user_id", "kind"),
    )

    def __str__(self) -> str:
        kind = "token" if self.kind == "api_token" else "app password"
        revoked = " (revoked)" if self.revoked_at else ""
        return f"{kind} {self.name} ({self.prefix}){revoked}"


class LoginCounter(Base):
    """What login throttling knows (:mod:`groupware.accounts.throttle`): the failures of
    one account from one address (``kind`` "account"), of one address whatever the
    account ("address", ``username`` empty), or that an account logged in from an
    address ("proven"). One row per key, changed in place under its row lock, so
    parallel logins count one after the other."""

    __tablename__ = "login_counters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    username: Mapped[str] = mapped_column(String(254))
    address: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # the next login is checked no earlier than this (None: at once)
    next_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (
        UniqueConstraint("kind", "username", "address"),
        CheckConstraint("kind IN ('account', 'address', 'proven')", name="kind"),
    )


class DashboardPreference(Base):
    """Where one widget stands on one user's dashboard, and whether they hid it
    (:mod:`groupware.accounts.dashboard`). A user's own setting, not a business record:
    no history. Widgets without a row stand after these, in their default order."""

    __tablename__ = "dashboard_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    widget: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
