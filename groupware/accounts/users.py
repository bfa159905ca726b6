"""Users: creating, changing, disabling and finding accounts.

The user directory (names and addresses) is readable by every colleague; changing
accounts is for administrators (``system`` / ``admin``), checked by the callers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from pydantic import Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from groupware.accounts.models import Role, Team, TeamMember, User, UserRole
from groupware.accounts.passwords import check_policy, hash_password
from groupware.accounts.roles import an_active_administrator, keep_an_administrator
from groupware.accounts.sessions import end_all_sessions
from groupware.db import escape_like, holder_of
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l
from groupware.validation import Id, Schema

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,63}$"
_EMAIL = re.compile(r"^[^@\s]+@([^@\s]+)$")


class UserIn(Schema):
    username: str = Field(pattern=USERNAME_PATTERN, max_length=64)
    full_name: str = Field(min_length=1, max_length=200)
    email: str = Field(default="", max_length=254)
    language: Literal["hr", "en"] = "hr"
    is_active: bool = True
    role_ids: list[Id] = Field(default_factory=list)
    team_ids: list[Id] = Field(default_factory=list)
    lead_team_ids: list[Id] = Field(default_factory=list)


class UserUpdate(Schema):
    """A change to a user; fields left out stay as they are."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    language: Literal["hr", "en"] | None = None
    is_active: bool | None = None
    role_ids: list[Id] | None = None
    team_ids: list[Id] | None = None
    lead_team_ids: list[Id] | None = None


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id, options=[selectinload(User.memberships)])
    if user is None:
        raise NotFound(_l("There is no such user."))
    return user


def find_user(session: Session, login: str) -> User | None:
    """The user with this username or e-mail address (case-insensitive)."""
    login = login.strip().lower()
    if not login:
        return None
    column = User.email if "@" in login else User.username
    return session.scalar(select(User).where(func.lower(column) == login))


def _clean_email(email: str, username: str, mail_domain: str) -> str:
    email = (email or f"{username}@{mail_domain}").strip().lower()
    match = _EMAIL.match(email)
    if not match:
        raise Invalid({"email": _l("Enter an e-mail address.")})
    if match.group(1) != mail_domain.lower():
        raise Invalid({"email": _l("The address must be in the company's mail domain.")})
    return email


def _check_unique(
    session: Session, *, username: str | None, email: str, user_id: int | None
) -> None:
    if username and holder_of(session, User.username, username) is not None:
        raise Invalid({"username": _l("This username is taken.")})
    if holder_of(session, User.email, email) not in (None, user_id):
        raise Invalid({"email": _l("Another user has this address.")})
    from groupware.mail.models import MailAddress  # mail builds on accounts

    taken = {username.lower()} if username else set()
    taken.add(email.partition("@")[0])
    for address in session.scalars(select(MailAddress).where(MailAddress.local_part.in_(taken))):
        if address.user_id is not None and address.user_id == user_id:
            continue  # the user's own alias
        field = "username" if username and address.local_part == username.lower() else "email"
        raise Invalid({field: _l("This is already a team's or a colleague's mail address.")})


def _check_ids(
    session: Session, model: type[Role] | type[Team], ids: list[int], field: str
) -> None:
    if not ids:
        return
    found = set(session.scalars(select(model.id).where(model.id.in_(ids))))
    if found != set(ids):
        raise Invalid({field: _l("Choose from the offered values.")})


def _set_roles(session: Session, user: User, role_ids: list[int]) -> None:
    _check_ids(session, Role, role_ids, "role_ids")
    wanted = set(role_ids)
    for link in list(user.role_links):
        if link.role_id not in wanted:
            user.role_links.remove(link)
    have = {link.role_id for link in user.role_links}
    for role_id in sorted(wanted - have):
        user.role_links.append(UserRole(role_id=role_id, role=session.get(Role, role_id)))


def _set_teams(session: Session, user: User, team_ids: list[int], lead_ids: list[int]) -> None:
    _check_ids(session, Team, team_ids, "team_ids")
    if not set(lead_ids) <= set(team_ids):
        raise Invalid({"lead_team_ids": _l("A user can only lead a team they belong to.")})
    wanted = set(team_ids)
    for member in list(user.memberships):
        if member.team_id not in wanted:
            user.memberships.remove(member)
        else:
            member.is_lead = member.team_id in lead_ids
    have = {m.team_id for m in user.memberships}
    for team_id in sorted(wanted - have):
        user.memberships.append(TeamMember(team_id=team_id, is_lead=team_id in lead_ids))


def create_user(
    session: Session, data: UserIn, *, mail_domain: str, password: str | None = None
) -> User:
    username = data.username.lower()
    email = _clean_email(data.email, username, mail_domain)
    _check_unique(session, username=username, email=email, user_id=None)
    if password is not None:
        check_policy(password, username=username)
    user = User(
        username=username,
        full_name=data.full_name,
        email=email,
        language=data.language,
        is_active=data.is_active,
        password_hash=hash_password(password) if password is not None else None,
    )
    session.add(user)
    _set_roles(session, user, data.role_ids)
    _set_teams(session, user, data.team_ids, data.lead_team_ids)
    session.flush()
    return user


def update_user(session: Session, user: User, data: UserUpdate, *, mail_domain: str) -> User:
    given = data.model_fields_set
    had_administrator = bool({"is_active", "role_ids"} & given) and an_active_administrator(session)
    if "full_name" in given and data.full_name is not None:
        user.full_name = data.full_name
    if "email" in given and data.email is not None:
        email = _clean_email(data.email, user.username, mail_domain)
        _check_unique(session, username=None, email=email, user_id=user.id)
        user.email = email
    if "language" in given and data.language is not None:
        user.language = data.language
    if "is_active" in given and data.is_active is not None and data.is_active != user.is_active:
        user.is_active = data.is_active
        if not data.is_active:
            end_all_sessions(session, user.id)
    if "role_ids" in given and data.role_ids is not None:
        _set_roles(session, user, data.role_ids)
    if data.team_ids is not None or data.lead_team_ids is not None:
        current = user.memberships
        team_ids = data.team_ids if data.team_ids is not None else [m.team_id for m in current]
        leads = data.lead_team_ids
        if leads is None:
            leads = [m.team_id for m in current if m.is_lead and m.team_id in team_ids]
        _set_teams(session, user, team_ids, leads)
    session.flush()
    if had_administrator:
        keep_an_administrator(session, field="role_ids")
    return user


def set_password(
    session: Session, user: User, password: str, *, keep_session: str | None = None
) -> None:
    """Change the password and end the user's other sessions."""
    check_policy(password, username=user.username)
    user.password_hash = hash_password(password)
    end_all_sessions(session, user.id, keep=keep_session)
    session.flush()


def disable_user(session: Session, user: User) -> None:
    update_user(session, user, UserUpdate(is_active=False), mail_domain="")


def list_users(
    session: Session,
    *,
    q: str = "",
    team_id: int | None = None,
    role_id: int | None = None,
    active: bool | None = None,
    after_id: int | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[User]:
    query = select(User).options(selectinload(User.roles), selectinload(User.memberships))
    if q:
        pattern = f"%{escape_like(q.lower())}%"
        query = query.where(
            or_(
                func.lower(User.username).like(pattern, escape="\\"),
                func.lower(User.full_name).like(pattern, escape="\\"),
                func.lower(User.email).like(pattern, escape="\\"),
            )
        )
    if team_id is not None:
        query = query.where(
            User.id.in_(select(TeamMember.user_id).where(TeamMember.team_id == team_id))
        )
    if role_id is not None:
        query = query.where(
            User.id.in_(select(UserRole.user_id).where(UserRole.role_id == role_id))
        )
    if active is not None:
        query = query.where(User.is_active.is_(active))
    if after_id is not None:
        query = query.where(User.id > after_id)
    return list(session.scalars(query.order_by(User.id).offset(offset).limit(limit)))


def active_user_choices(session: Session) -> list[tuple[int, str]]:
    """``(id, full name)`` of the active users, by name: the options of a user select."""
    rows = session.execute(
        select(User.id, User.full_name).where(User.is_active).order_by(User.full_name)
    )
    return [(user_id, name) for user_id, name in rows]


def user_names(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    """The full names of the users among ``ids`` (``None`` left out)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    return {user_id: name for user_id, name in rows}
