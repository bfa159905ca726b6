"""The differential access test: for every record type the access policy knows and
every member of a cast in which everyone owns, made, handed on and shares something
(:mod:`tests.access.world`), what each way of finding records shows (the list page,
the API list, searches, counts, reports, the history) must be exactly the records for
which the plain per-record check (:func:`groupware.access.policy.may`) says yes, and
every other record answers 404 on every route that names it, safe or not.

A new record type is covered without editing this module: its model's access rules
make it a record type, its :class:`~groupware.records.RecordType` says where its
records are listed, and the routes that name ``<model>_id`` are found in the app. The
first test fails until the world has records of the new type.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Mount, Route

from groupware.access.policy import may, record_models
from groupware.db import Database
from groupware.records import RECORD_TYPES
from tests import factories
from tests.access.world import PEOPLE, World, build_world
from tests.conftest import LiveServer

TYPES = sorted(record_models())
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


@dataclass
class Person:
    web: httpx.Client
    api: httpx.Client


@pytest.fixture(scope="module")
def world(live_server: LiveServer, database: Database) -> Iterator[World]:
    factories.reset_database(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        built = build_world(session)
    yield built
    factories.reset_database(database)


@pytest.fixture(scope="module")
def people(
    live_server: LiveServer, database: Database, world: World
) -> Iterator[dict[str, Person]]:
    found: dict[str, Person] = {}
    for name in PEOPLE:
        web = factories.browser(live_server.url)
        web.headers["X-CSRF-Token"] = factories.login(web, name)
        token = factories.api_token(database, world.users[name])
        api = httpx.Client(
            base_url=live_server.url,
            timeout=20,
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
        )
        found[name] = Person(web, api)
    yield found
    for person in found.values():
        person.web.close()
        person.api.close()


def allowed(
    database: Database, world: World, name: str, rtype: str, action: str = "view"
) -> set[int]:
    """The records of ``rtype`` the per-record check lets ``name`` do ``action`` to."""
    model = record_models()[rtype]
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        who = world.who(session, name)
        return {
            int(row.id)  # type: ignore[attr-defined]
            for row in session.scalars(select(model))
            if may(session, who, row, action)
        }


def _linked_ids(html: str, rtype: str) -> set[int]:
    """The ids of ``rtype`` records a page links to (by their page's address)."""
    prefix = RECORD_TYPES[rtype].url.split("{id}")[0]
    return {int(i) for i in re.findall(rf'href="{re.escape(prefix)}(\d+)(?=["/?#])', html)}


def _api_ids(client: httpx.Client, url: str) -> set[int]:
    ids: set[int] = set()
    path, _sep, query = url.partition("?")
    params: dict[str, Any] = {**dict(urllib.parse.parse_qsl(query)), "limit": 500}
    while True:
        response = client.get(path, params=params)
        assert response.status_code == 200, (url, response.text)
        body = response.json()
        ids |= {int(item["id"]) for item in body["items"]}
        if not body.get("next_cursor"):
            return ids
        params["cursor"] = body["next_cursor"]


def test_the_world_has_records_of_every_type_and_each_type_a_page() -> None:
    """A new record type needs records in :mod:`tests.access.world` and a page."""
    for rtype in TYPES:
        assert rtype in RECORD_TYPES, f"{rtype}: register its RecordType"
        assert RECORD_TYPES[rtype].url or RECORD_TYPES[rtype].api_url, rtype


@pytest.mark.parametrize("rtype", TYPES)
def test_lists_show_exactly_what_the_policy_allows(
    rtype: str, world: World, people: dict[str, Person], database: Database
) -> None:
    assert world.tokens.get(rtype), f"add {rtype} records to tests/access/world.py"
    declared = RECORD_TYPES[rtype]
    wrong: list[str] = []
    for name in PEOPLE:
        expected = allowed(database, world, name, rtype)
        if declared.list_url:
            page = people[name].web.get(declared.list_url)
            shown = _linked_ids(page.text, rtype) if page.status_code == 200 else set()
            if page.status_code != 200 or shown != expected:
                wrong.append(_difference(name, declared.list_url, page, shown, expected))
        if declared.api_url:
            shown = _api_ids(people[name].api, declared.api_url)
            if shown != expected:
                wrong.append(_difference(name, declared.api_url, None, shown, expected))
    assert not wrong, "\n".join(wrong)


def _difference(
    name: str, url: str, response: httpx.Response | None, shown: set[int], expected: set[int]
) -> str:
    status = f" answered {response.status_code}" if response is not None else ""
    return (
        f"{name} {url}{status}: shows {sorted(shown - expected)} it may not see, "
        f"misses {sorted(expected - shown)}"
    )
