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

import decimal
import re
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.routing import Mount, Route

from groupware.access.policy import may, record_models
from groupware.crm.models import Partner
from groupware.db import Database
from groupware.deals.models import Deal
from groupware.records import record_types
from groupware.settings import Settings
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
def world(live_server: LiveServer, database: Database, settings: Settings) -> Iterator[World]:
    factories.reset_database(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        built = build_world(session, settings)
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
            verify=factories.TLS,
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
    prefix = record_types()[rtype].url.split("{id}")[0]
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


def _hidden_tokens(database: Database, world: World, name: str) -> dict[str, set[str]]:
    """For each record type, the tokens of the records ``name`` may not see."""
    hidden: dict[str, set[str]] = {}
    for rtype in TYPES:
        seen = allowed(database, world, name, rtype)
        hidden[rtype] = {t for record_id, t in world.tokens[rtype].items() if record_id not in seen}
    return hidden


def test_the_world_has_records_of_every_type_and_each_type_a_page() -> None:
    """A new record type needs records in :mod:`tests.access.world` and a page."""
    for rtype in TYPES:
        assert rtype in record_types(), f"{rtype}: register its RecordType"
        assert record_types()[rtype].url or record_types()[rtype].api_url, rtype


@pytest.mark.parametrize("rtype", TYPES)
def test_lists_show_exactly_what_the_policy_allows(
    rtype: str, world: World, people: dict[str, Person], database: Database
) -> None:
    assert world.tokens.get(rtype), f"add {rtype} records to tests/access/world.py"
    declared = record_types()[rtype]
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


# -- records out of sight answer 404 on every route that names them ------------------

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _app_routes(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _app_routes(route.routes or [], prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or ()):
                if method not in ("HEAD", "OPTIONS"):
                    yield method, prefix + route.path


def _naming(live_server: LiveServer, rtype: str) -> list[tuple[str, str]]:
    """The routes whose path names a record of ``rtype`` (``{<model>_id}``, or the
    generic ``/records/{record_type}/{record_id}``), with the other parameters filled."""
    param = record_models()[rtype].__name__.lower() + "_id"
    found = []
    for method, path in _app_routes(live_server.server.config.app.routes):
        names = _PARAM.findall(path)
        if param not in names and "record_id" not in names:
            continue
        found.append((method, path))
    return found


def _fill(path: str, rtype: str, record_id: int) -> str:
    param = record_models()[rtype].__name__.lower() + "_id"

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in (param, "record_id"):
            return str(record_id)
        if name == "record_type":
            return rtype
        return "x.ics" if name == "href" else "1"

    return _PARAM.sub(value, path)


def test_every_record_type_has_routes_that_name_it(live_server: LiveServer) -> None:
    for rtype in TYPES:
        assert any(method == "GET" for method, _p in _naming(live_server, rtype)), rtype


@pytest.mark.parametrize("rtype", TYPES)
def test_records_out_of_sight_answer_404_on_every_route(
    rtype: str,
    world: World,
    people: dict[str, Person],
    database: Database,
    live_server: LiveServer,
) -> None:
    routes = _naming(live_server, rtype)
    wrong: list[str] = []
    everything = set(world.tokens[rtype])
    for name in PEOPLE:
        hidden = everything - allowed(database, world, name, rtype)
        for number, record_id in enumerate(sorted(hidden)):
            token = world.tokens[rtype][record_id]
            # Every safe route for every hidden record; the unsafe ones in turn, each
            # for every third hidden record (they go through the same access helpers).
            for index, (method, path) in enumerate(routes):
                if method in UNSAFE and (index + number) % 3:
                    continue
                url = _fill(path, rtype, record_id)
                if url.startswith("/api/"):
                    body = {"json": {}} if method in UNSAFE else {}
                    response = people[name].api.request(method, url, **body)
                else:
                    response = people[name].web.request(method, url)
                if response.status_code != 404 or token in response.text:
                    wrong.append(f"{name} {method} {url}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


# -- searches, pickers, counts, reports and the history -------------------------------

# Searches that must find exactly the visible records (every record's name ends in
# "p7"), by record type: the list pages' and the API's search.
SEARCHES = {
    "partners": ("/partners?q=p7", "/api/v1/partners?q=p7"),
    "persons": ("/persons?q=p7", "/api/v1/persons?q=p7"),
    "deals": ("/deals?q=p7",),
    "announcements": ("/announcements?q=p7", "/api/v1/announcements?q=p7"),
}

# Pages that look records up for a form (pickers, duplicates, filing mail, forms
# pre-filled from a link): none may show a record out of sight. ``{mail}`` is the
# user's own message, ``{partner}`` / ``{deal}`` a record of the type the user may not
# see (each hidden one in turn).
LOOKUPS = (
    ("GET", "/mail/{mail}/records?q=p7"),
    ("GET", "/mail/addresses?q=p7"),
    ("GET", "/deals/new?partner_id={partner}"),
    ("GET", "/tasks/new?partner_id={partner}&deal_id={deal}"),
    ("POST", "/partners/check-duplicates"),
    ("POST", "/api/v1/partners/duplicates"),
)


@pytest.mark.parametrize("rtype", sorted(SEARCHES))
def test_searches_find_exactly_what_the_policy_allows(
    rtype: str, world: World, people: dict[str, Person], database: Database
) -> None:
    wrong: list[str] = []
    for name in PEOPLE:
        expected = allowed(database, world, name, rtype)
        for url in SEARCHES[rtype]:
            if url.startswith("/api/"):
                shown = _api_ids(people[name].api, url)
            else:
                shown = _linked_ids(people[name].web.get(url).text, rtype)
            if shown != expected:
                wrong.append(_difference(name, url, None, shown, expected))
    assert not wrong, "\n".join(wrong)


def test_lookups_show_no_record_out_of_sight(
    world: World, people: dict[str, Person], database: Database
) -> None:
    wrong: list[str] = []
    for name in PEOPLE:
        hidden = _hidden_tokens(database, world, name)
        everything = {t for tokens in hidden.values() for t in tokens}
        partners = sorted(
            set(world.tokens["partners"]) - allowed(database, world, name, "partners")
        )
        deals = sorted(set(world.tokens["deals"]) - allowed(database, world, name, "deals"))
        for method, template in LOOKUPS:
            # a lookup about a record is asked about each hidden one, the others once
            pairs = list(zip(partners or [0], deals or [0], strict=False))
            if "{partner}" not in template and "{deal}" not in template:
                pairs = pairs[:1]
            for partner, deal in pairs:
                url = template.format(mail=world.mail[name], partner=partner, deal=deal)
                if method == "GET":
                    text = people[name].web.get(url).text
                elif url.startswith("/api/"):
                    body = {"name": "Partner p7", "city": "Zagreb", "email": "p7@x.hr"}
                    text = people[name].api.post(url, json=body).text
                else:
                    form = {"name": "Partner p7", "city": "Zagreb", "email": "p7@x.hr"}
                    text = people[name].web.post(url, data=form).text
                leaked = sorted(t for t in everything if t in text)
                if leaked:
                    wrong.append(f"{name} {method} {url}: shows {leaked}")
    assert not wrong, "\n".join(wrong)


def test_reports_and_counts_add_up_what_the_policy_allows(
    world: World, people: dict[str, Person], database: Database
) -> None:
    """The pipeline report counts and sums the visible open deals; the partner counts
    of territories and groups count the visible partners."""
    wrong: list[str] = []
    for name in PEOPLE:
        deals = allowed(database, world, name, "deals")
        with database.transaction(actor_id=None, channel="cli", write=False) as session:
            amounts = [session.get(Deal, i).amount for i in deals]  # type: ignore[union-attr]
        response = people[name].api.get("/api/v1/reports/pipeline")
        rows = response.json()["items"] if response.status_code == 200 else []
        counted = sum(row["count"] for row in rows)
        summed = sum(decimal.Decimal(row["amount"]) for row in rows)
        if (counted, summed) != (len(deals), sum(amounts, decimal.Decimal(0))):
            wrong.append(f"{name} pipeline: {counted} deals, {summed} (sees {len(deals)})")
        partners = allowed(database, world, name, "partners")
        with database.transaction(actor_id=None, channel="cli", write=False) as session:
            rows = [session.get(Partner, i) for i in partners]
        for url, key in (("/territories", "territory_id"), ("/partner-groups", "group_id")):
            page = people[name].web.get(url)
            if page.status_code != 200:
                continue
            shown = {
                int(ident): int(count.replace(".", "").replace(",", ""))
                for ident, count in re.findall(
                    rf'href="/partners\?{key}=(\d+)">([\d.,]+)<', page.text
                )
            }
            seen = Counter(getattr(row, key) for row in rows)
            if any(count != seen.get(ident, 0) for ident, count in shown.items()) or not shown:
                wrong.append(f"{name} {url}: counts {shown}, sees {dict(seen)}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("rtype", TYPES)
def test_the_history_shows_only_records_in_sight(
    rtype: str, world: World, people: dict[str, Person], database: Database
) -> None:
    wrong: list[str] = []
    for name in PEOPLE:
        expected = allowed(database, world, name, rtype)
        response = people[name].api.get(
            "/api/v1/history", params={"record_type": rtype, "limit": 500}
        )
        assert response.status_code == 200, response.text
        shown = {int(row["record_id"]) for row in response.json()["items"]}
        if shown - expected:
            wrong.append(_difference(name, "/api/v1/history", None, shown, expected))
        page = people[name].web.get("/history", params={"record_type": rtype})
        leaked = sorted(_linked_ids(page.text, rtype) - expected)
        if leaked:
            wrong.append(f"{name} /history?record_type={rtype}: links {leaked}")
    assert not wrong, "\n".join(wrong)


def test_caldav_shows_a_calendar_exactly_where_the_policy_allows(
    world: World, database: Database, live_server: LiveServer
) -> None:
    """Over CalDAV a colleague's calendar is there for free/busy, but its name, items
    and changes only for those the policy lets see it (a share, a role reaching every
    calendar); and only those it lets change it may write to it."""
    from groupware.caldav.models import Calendar

    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        calendars = {c.id: (c.owner.username, c.slug) for c in session.scalars(select(Calendar))}
    wrong: list[str] = []
    for name in PEOPLE:
        readable = allowed(database, world, name, "calendars")
        writable = allowed(database, world, name, "calendars", "edit")
        with httpx.Client(
            base_url=live_server.url,
            auth=(name, factories.PASSWORD),
            timeout=20,
            verify=factories.TLS,
        ) as dav:
            for calendar_id, (owner, slug) in sorted(calendars.items()):
                url = f"/dav/{owner}/{slug}/"
                found = dav.request("PROPFIND", url, headers={"Depth": "0"})
                token = world.tokens["calendars"][calendar_id]
                if (token in found.text) != (calendar_id in readable):
                    wrong.append(f"{name} PROPFIND {url}: {found.status_code}, name shown: "
                                 f"{token in found.text}")  # fmt: skip
                event = _event(f"{name}-{calendar_id}")
                put = dav.put(f"{url}{name}-{calendar_id}.ics", content=event,
                              headers={"Content-Type": "text/calendar"})  # fmt: skip
                if (put.status_code in (200, 201, 204)) != (calendar_id in writable):
                    wrong.append(f"{name} PUT into {url}: {put.status_code}")
    assert not wrong, "\n".join(wrong)


def _event(uid: str) -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:20261201T090000Z\r\nDTSTART:20261210T090000Z\r\n"
        "DTEND:20261210T100000Z\r\nSUMMARY:Check\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
