"""Fixtures of the CRM tests that go through the real server: API clients with the
cast's own tokens, and a committed sales set-up the server sees."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.accounts.roles import RoleIn, create_role
from groupware.accounts.users import UserUpdate, update_user
from groupware.crm.models import PartnerGroup
from groupware.db import Database
from tests.api.helpers import Api
from tests.conftest import LiveServer
from tests.factories import Cast, make_rule, make_territory, make_user, role_id


@pytest.fixture
def api(live: LiveServer, committed: Cast, database: Database) -> Iterator[Api]:
    """Clients with each cast member's own token (``api("alice")``), closed afterwards."""
    with Api(live.url, database, committed) as api:
        yield api


@dataclass
class Sales:
    """The committed CRM set-up: alice and bob are sales reps of "Zagreb" (Grad Zagreb,
    HR-21), charlie of "Dalmacija" (Split-Dalmatia, HR-17); erin may only read
    partners (role "reader"); root administers."""

    zagreb: int
    dalmacija: int
    horeca: int
    erin: int


@pytest.fixture
def sales(api: Api, database: Database) -> Sales:
    cast = api.cast
    with database.transaction(actor_id=None, channel="cli") as session:
        for user in (cast.alice, cast.bob, cast.charlie):
            update_user(
                session,
                _user(session, user),
                UserUpdate(role_ids=[role_id(session, "sales")]),
                mail_domain="groupware.local",
            )
        zagreb = make_territory(session, "Zagreb", counties=("HR-21",))
        dalmacija = make_territory(session, "Dalmacija", counties=("HR-17",))
        make_rule(session, zagreb, (_user(session, cast.alice), _user(session, cast.bob)))
        make_rule(session, dalmacija, (_user(session, cast.charlie),))
        horeca = PartnerGroup(name="HoReCa")
        session.add(horeca)
        reader = RoleIn(
            name="reader", grants=[("partners", "view", "all"), ("documents", "view", "all")]
        )
        create_role(session, reader)
        erin = make_user(session, "erin", roles=("reader",))
        session.flush()
        return Sales(zagreb.id, dalmacija.id, horeca.id, erin.id)


def _user(session: Session, user: User) -> User:
    found = session.get(User, user.id)
    assert found is not None
    return found
