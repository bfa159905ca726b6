"""Roles and their grants; the built-in roles every install has.

Built-in roles are kept in step with the registered modules by
:func:`ensure_builtin_roles` (run by ``groupware migrate``): when a module lands, the
built-in roles get their rights on it. Administrators do not edit built-in roles; they
add their own (a copy of a built-in role is a good start).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from groupware.access.policy import ACTIONS, SCOPES, modules
from groupware.accounts.models import Grant, Role, User, UserRole
from groupware.db import holder_of
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.i18n import _l
from groupware.validation import Schema

BUILTIN_LABELS: dict[str, Any] = {
    "admin": _l("Administrator: everything, including administration"),
    "manager": _l("Manager: the records of their teams"),
    "sales": _l("Sales: own records and those in their territories"),
    "staff": _l("Staff: own records"),
}

# action -> scopes, for every module that has records
_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "admin": {action: ("all",) for action in ACTIONS},
    "manager": {a: ("team",) for a in ("view", "create", "edit", "delete", "export", "share")},
    "sales": {
        "view": ("own", "territory"),
        "create": ("own",),
        "edit": ("own", "territory"),
        "delete": ("own",),
        "export": ("own", "territory"),
        "share": ("own", "territory"),
    },
    "staff": {a: ("own",) for a in ("view", "create", "edit", "delete", "share")},
}


class RoleIn(Schema):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w .-]+$")
    description: str = Field(default="", max_length=1000)
    grants: list[tuple[str, str, str]] = Field(default_factory=list)


def builtin_grants(role_name: str) -> set[tuple[str, str, str]]:
    template = _TEMPLATES[role_name]
    wanted: set[tuple[str, str, str]] = set()
    for module in modules().values():
        if not module.has_records and role_name != "admin":
            continue
        for action in module.actions:
            for scope in template.get(action, ()):
                wanted.add((module.name, action, scope))
    return wanted


def _apply_grants(role: Role, wanted: set[tuple[str, str, str]]) -> None:
    for grant in list(role.grants):
        if (grant.module, grant.action, grant.scope) not in wanted:
            role.grants.remove(grant)
    have = {(g.module, g.action, g.scope) for g in role.grants}
    for module, action, scope in sorted(wanted - have):
        role.grants.append(Grant(module=module, action=action, scope=scope))


def ensure_builtin_roles(session: Session) -> None:
    for name in _TEMPLATES:
        role = session.scalar(
            select(Role).where(Role.name == name).options(selectinload(Role.grants))
        )
        if role is None:
            role = Role(name=name, is_builtin=True, description="")
            session.add(role)
        _apply_grants(role, builtin_grants(name))
    session.flush()


def validate_grants(grants: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    result: set[tuple[str, str, str]] = set()
    for module, action, scope in grants:
        known = modules().get(module)
        if known is None or action not in known.actions or scope not in SCOPES:
            raise Invalid({"grants": _l("A grant names an unknown module, action or scope.")})
        result.add((module, action, scope))
    return result


def get_role(session: Session, role_id: int) -> Role:
    role = session.get(Role, role_id, options=[selectinload(Role.grants)])
    if role is None:
        raise NotFound(_l("There is no such role."))
    return role


def role_by_name(session: Session, name: str) -> Role | None:
    return session.scalar(select(Role).where(Role.name == name))


def _check_name(session: Session, name: str, role_id: int | None) -> None:
    if holder_of(session, Role.name, name) not in (None, role_id):
        raise Invalid({"name": _l("Another role has this name.")})


def create_role(session: Session, data: RoleIn) -> Role:
    _check_name(session, data.name, None)
    role = Role(name=data.name, description=data.description)
    session.add(role)
    _apply_grants(role, validate_grants(data.grants))
    session.flush()
    return role


def update_role(session: Session, role: Role, data: RoleIn) -> Role:
    if role.is_builtin:
        raise Forbidden(_l("Built-in roles cannot be changed; copy one instead."))
    _check_name(session, data.name, role.id)
    had_administrator = an_active_administrator(session)
    role.name = data.name
    role.description = data.description
    _apply_grants(role, validate_grants(data.grants))
    session.flush()
    if had_administrator:
        keep_an_administrator(session, field="grants")
    return role


def delete_role(session: Session, role: Role) -> None:
    if role.is_builtin:
        raise Forbidden(_l("Built-in roles cannot be deleted."))
    had_administrator = an_active_administrator(session)
    # Through the session, so that each user's history shows the role going.
    for link in session.scalars(select(UserRole).where(UserRole.role_id == role.id)):
        session.delete(link)
    session.delete(role)
    session.flush()
    if had_administrator:
        keep_an_administrator(session, field="")


def an_active_administrator(session: Session) -> bool:
    """Whether some active user holds a role that grants administration."""
    admin_roles = select(Grant.role_id).where(Grant.module == "system", Grant.action == "admin")
    query = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.is_active, UserRole.role_id.in_(admin_roles))
        .limit(1)
    )
    return session.scalar(query) is not None


def keep_an_administrator(session: Session, *, field: str) -> None:
    """Refuse a change (the caller rolls it back) that left nobody to administer."""
    if not an_active_administrator(session):
        raise Invalid({field: _l("At least one active user must keep administration rights.")})


def list_roles(session: Session) -> list[tuple[Role, int]]:
    counts = select(UserRole.role_id, func.count().label("n")).group_by(UserRole.role_id).subquery()
    rows = session.execute(
        select(Role, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.role_id == Role.id)
        .options(selectinload(Role.grants))
        .order_by(Role.is_builtin.desc(), Role.name)
    ).all()
    return [(role, int(n)) for role, n in rows]
