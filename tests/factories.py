"""Plain factory functions and the fixed cast used in permission tests.

The cast: alice and bob are staff in team North, charlie is staff in team South, dave
manages North (team scope), root is an administrator. In permission tests alice owns,
bob is shared with, charlie has no access.
"""

from __future__ import annotations

import functools
import re
import ssl
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from groupware.access.policy import Who, load_who
from groupware.accounts.models import Role, Team, User
from groupware.accounts.passwords import hash_password
from groupware.accounts.roles import ensure_builtin_roles
from groupware.accounts.teams import TeamIn, create_team
from groupware.accounts.users import UserIn, create_user
from groupware.announcements.models import Announcement
from groupware.db import Base, Database

PASSWORD = "correct horse battery"


@functools.cache
def password_hash() -> str:
    """The hash of :data:`PASSWORD`, made once (at the cost the test run hashes with)."""
    return hash_password(PASSWORD)


MAIL_DOMAIN = "groupware.local"


@dataclass
class Cast:
    alice: User
    bob: User
    charlie: User
    dave: User
    root: User
    north: Team
    south: Team

    def who(self, session: Session, user: User) -> Who:
        return load_who(session, user)


def role_id(session: Session, name: str) -> int:
    found = session.scalar(select(Role.id).where(Role.name == name))
    assert found is not None, name
    return found


def make_user(
    session: Session,
    username: str,
    *,
    roles: tuple[str, ...] = ("staff",),
    teams: tuple[Team, ...] = (),
    lead_of: tuple[Team, ...] = (),
    language: str = "en",
    full_name: str | None = None,
    **extra: Any,
) -> User:
    data = UserIn(
        username=username,
        full_name=full_name or username.capitalize(),
        language=language,  # type: ignore[arg-type]
        role_ids=[role_id(session, r) for r in roles],
        team_ids=[t.id for t in teams],
        lead_team_ids=[t.id for t in lead_of],
        **extra,
    )
    user = create_user(session, data, mail_domain=MAIL_DOMAIN)
    user.password_hash = password_hash()
    session.flush()
    return user


def make_cast(session: Session) -> Cast:
    north = create_team(session, TeamIn(name="North"))
    south = create_team(session, TeamIn(name="South"))
    return Cast(
        alice=make_user(session, "alice", teams=(north,)),
        bob=make_user(session, "bob", teams=(north,)),
        charlie=make_user(session, "charlie", teams=(south,)),
        dave=make_user(session, "dave", roles=("manager",), teams=(north,), lead_of=(north,)),
        root=make_user(session, "root", roles=("admin",), language="hr"),
        north=north,
        south=south,
    )


def make_announcement(session: Session, owner: User, **values: Any) -> Announcement:
    row = Announcement(owner_id=owner.id, title=values.pop("title", "Notice"), **values)
    session.add(row)
    session.flush()
    return row


# What reset_database keeps: the built-in roles and their grants, and the counties.
KEPT = frozenset({"roles", "grants", "counties"})
Rows = dict[str, list[dict[str, Any]]]


def reset_database(database: Database) -> None:
    """Empty every table but the built-in roles (for tests that commit)."""
    emptied = [t for t in reversed(Base.metadata.sorted_tables) if t.name not in KEPT]
    with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # One round trip for every table (psycopg takes several statements in one
            # string without parameters): 35 ms a test before, one by one.
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in emptied))
        else:
            for table in emptied:
                conn.execute(delete(table))
        conn.execute(delete(Role.__table__).where(Role.is_builtin.is_(False)))
    with database.transaction(actor_id=None, channel="cli") as session:
        ensure_builtin_roles(session)
        session.execute(delete(Base.metadata.tables["history"]))


def saved_rows(database: Database) -> Rows:
    """Every row reset_database would delete, table by table (what a test's set-up
    committed), to be written back by :func:`restore_rows` after a reset."""
    with database.engine.connect() as conn:
        found = {
            table.name: [dict(row._mapping) for row in conn.execute(select(table))]
            for table in Base.metadata.sorted_tables
            if table.name not in KEPT
        }
    return {name: rows for name, rows in found.items() if rows}


def restore_rows(database: Database, saved: Rows) -> None:
    """Write back what :func:`saved_rows` read, ids and all, into a reset database."""
    with database.engine.begin() as conn:
        for table in Base.metadata.sorted_tables:
            if table.name in saved:
                conn.execute(table.insert(), saved[table.name])


# -- HTTP helpers -------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


# The TLS settings every test client shares: httpx makes (and loads the CA bundle into)
# a context of its own for each client otherwise, 40 ms a client, though the tests'
# servers speak plain HTTP.
TLS = ssl.create_default_context()


def browser(base_url: str) -> httpx.Client:
    return httpx.Client(
        base_url=base_url,
        follow_redirects=False,
        timeout=20,
        headers={"Accept-Language": "en"},
        verify=TLS,
    )


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the CSRF token of the new session."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(page.text),
            "next": "/",
        },
    )
    assert response.status_code == 303, response.text
    # Every page carries the session's token; the profile is one of the cheapest (the
    # dashboard, where the login leads, adds up a dozen figures).
    return csrf_of(client.get("/profile").text)


def api_token(database: Database, user: User) -> str:
    from groupware.accounts.credentials import create_credential

    with database.transaction(actor_id=user.id, channel="cli") as session:
        secret, _row = create_credential(
            session, session.get(User, user.id), kind="api_token", name="test"
        )  # type: ignore[arg-type]
    return secret


# -- CRM ----------------------------------------------------------------------------


def county_id(session: Session, code: str) -> int:
    from groupware.crm.models import County

    found = session.scalar(select(County.id).where(County.code == code))
    assert found is not None, code
    return found


def make_territory(
    session: Session, name: str, *, counties: tuple[str, ...] = (), **area: Any
) -> Any:
    from groupware.crm.territories.service import AreaIn, TerritoryIn, save_territory

    areas = [AreaIn(county_id=county_id(session, code)) for code in counties]
    if area:
        areas.append(AreaIn(**area))
    return save_territory(session, None, TerritoryIn(name=name, areas=areas))


def make_rule(session: Session, territory: Any, reps: tuple[User, ...], **values: Any) -> Any:
    from groupware.crm.territories.service import RuleIn, save_rule

    data = RuleIn(territory_id=territory.id, rep_ids=[u.id for u in reps], **values)
    return save_rule(session, None, data)


def make_partner(session: Session, who: Any, name: str = "Konzum d.d.", **values: Any) -> Any:
    from groupware.crm.partners import PartnerIn, create_partner

    values.setdefault("city", "Zagreb")
    values.setdefault("postal_code", "10000")
    return create_partner(session, who, PartnerIn(name=name, **values))
