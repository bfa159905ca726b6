"""A fuzz run over the whole OpenAPI document against the live server.

For every documented operation, schemathesis generates requests from the document (valid
ones, and some that break it) and sends them as an administrator and as a plain user,
with their real tokens, to the live uvicorn server on this run's database. Every answer
must be something the document promises: no 5xx, a documented status, a JSON body that
matches the schema of that status (no undocumented fields either: the document is made
strict as :class:`tests.api.test_openapi.Contract` does), the documented content type.

Generated ids rarely name a record, so before the run the test creates records of the
kinds the API serves, and each generated id (in the path, the query or the body) is
replaced, half of the time, by the id of a record the lists show. The examples are fixed
(``derandomize``) so a run is repeatable; ``GROUPWARE_TEST_FUZZ_EXAMPLES`` (default
:data:`EXAMPLES`) sets how many valid requests each operation gets per user, for a
longer run by hand.
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from groupware import wiring
from groupware.access.policy import record_models
from groupware.app import collect_routes
from groupware.crm.models import ImportJob
from groupware.db import Database
from tests import factories
from tests.api.helpers import API
from tests.conftest import LiveServer

EXAMPLES = 6  # valid requests per operation and user; invalid ones get half as many
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
USERS = ("alice", "root")  # a sales rep, then an administrator


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation, reads before writes and deletions last, so
    that the records stay for as long as possible."""
    collect_routes()
    order = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
    found = [(op.method, API + op.path) for api in wiring.current().apis for op in api.operations]
    return sorted(found, key=lambda mp: (order[mp[0]], mp[1], mp[0]))


@dataclass
class Run:
    """What the whole fuzz run shares: the schema, the tokens, the ids of real records
    and the statuses each operation answered."""

    url: str
    schema: Any
    tokens: dict[str, str]
    ids: dict[str, list[int]]
    sending: float = 0.0
    statuses: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)


@pytest.fixture(scope="module")
def run(live_server: LiveServer, database: Database) -> Iterator[Run]:
    with database.transaction(actor_id=None, channel="cli") as session:
        cast = factories.make_cast(session)
        sales = factories.role_id(session, "sales")
    tokens = {name: factories.api_token(database, getattr(cast, name)) for name in USERS}
    with httpx.Client(base_url=live_server.url + API, timeout=30, verify=factories.TLS) as client:
        client.headers["Authorization"] = f"Bearer {tokens['root']}"
        _seed(client, cast, sales)
        client.headers["Authorization"] = f"Bearer {tokens['alice']}"
        _seed_as_alice(client, cast)
        client.headers["Authorization"] = f"Bearer {tokens['root']}"
        document = client.get("/openapi.json").json()
        ids = _listed_ids(client, document)
    schema = schemathesis.openapi.from_dict(_strict(document))
    fuzz = Run(live_server.url, schema, tokens, ids)
    yield fuzz
    _wait_for_imports(database)
    factories.reset_database(database)
    seconds = time.monotonic() - fuzz.started
    answered = Counter(status for seen in fuzz.statuses.values() for status in seen)
    reached = sum(any(s < 300 for s in seen) for seen in fuzz.statuses.values())
    print(  # seen with -s
        f"\nfuzz run: {answered.total()} requests in {seconds:.0f} s "
        f"({fuzz.sending:.0f} s waiting for answers), "
        f"{reached} of {len(fuzz.statuses)} (user, operation) answered 2xx at least once; "
        f"statuses {sorted(answered.items())}"
    )


def _wait_for_imports(database: Database) -> None:
    """Until no import the run started is still checked or committed in the background
    (it would write into the next test's database)."""
    running = select(ImportJob.id).where(ImportJob.status.in_(("validating", "committing")))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with database.transaction(actor_id=None, channel="cli", write=False) as session:
            if session.scalar(running) is None:
                return
        time.sleep(0.2)
    raise AssertionError("an import started by the fuzz run did not finish within 60 s")


def _strict(document: dict[str, Any]) -> dict[str, Any]:
    strict = copy.deepcopy(document)
    for schema in strict["components"]["schemas"].values():
        if "properties" in schema:
            schema.setdefault("additionalProperties", False)
    return strict


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code in (200, 201), (path, response.text)
    return dict(response.json())


def _seed(client: httpx.Client, cast: factories.Cast, sales: int) -> None:
    """Records of the kinds the API serves, made through the API by the administrator;
    alice becomes a sales rep with a partner of her own."""
    response = client.patch(f"/users/{cast.alice.id}", json={"role_ids": [sales]})
    assert response.status_code == 200, response.text
    group = _post(client, "/partner-groups", {"name": "HoReCa"})
    territory = _post(client, "/territories", {"name": "Zagreb"})
    _post(
        client,
        "/assignment-rules",
        {"territory_id": territory["id"], "rep_ids": [cast.alice.id], "group_id": group["id"]},
    )
    partner = _post(client, "/partners", {"name": "Konzum d.d.", "group_id": group["id"]})
    reps = {"rep_ids": [cast.alice.id]}
    assert client.put(f"/partners/{partner['id']}/reps", json=reps).status_code == 200
    branch = _post(client, "/branches", {"partner_id": partner["id"], "name": "Split"})
    person = {"partner_id": partner["id"], "branch_id": branch["id"], "last_name": "Horvat"}
    person = _post(client, "/persons", person)
    kind = {"name": "Prodaja", "phases": [{"name": "Ponuda"}, {"name": "Narudžba"}]}
    kind = _post(client, "/deal-types", kind)
    deal = {
        "title": "Police",
        "partner_id": partner["id"],
        "person_id": person["id"],
        "type_id": kind["id"],
        "owner_id": cast.alice.id,
        "lines": [{"description": "Polica", "quantity": "2", "unit_price": "100.50"}],
    }
    deal = _post(client, "/deals", deal)
    _post(client, f"/records/deals/{deal['id']}/activities", {"body": "Nazvao"})
    document = {
        "kind": "invoice",
        "number": "R-1",
        "date": "2026-11-02",
        "partner_id": partner["id"],
        "net_amount": "100.00",
        "gross_amount": "125.00",
    }
    _post(client, "/documents/batch", {"documents": [document]})
    task = {"title": "Ponuda", "assignee_id": cast.alice.id, "deal_id": deal["id"]}
    _post(client, "/tasks", task)
    _post(client, "/announcements", {"title": "Plan", "team_id": cast.north.id})
    fair = _post(client, "/campaign-types", {"name": "Sajam", "phases": [{"name": "Priprema"}]})
    campaign = {"name": "Sajam", "type_id": fair["id"], "starts_on": "2026-11-02"}
    _post(client, "/campaigns", {**campaign, "team_id": cast.north.id})
    _post(client, "/messages", {"to": [cast.alice.email], "subject": "Bok", "text": "Ponuda"})


def _seed_as_alice(client: httpx.Client, cast: factories.Cast) -> None:
    """Records the plain user owns, handed on and shared."""
    task = _post(client, "/tasks", {"title": "Nazvati", "assignee_id": cast.bob.id})
    draft = _post(client, "/announcements", {"title": "Moje"})
    share = {"user_id": cast.bob.id, "permission": "write"}
    _post(client, f"/records/announcements/{draft['id']}/shares", share)
    _post(client, "/messages", {"to": [cast.bob.email], "subject": task["title"]})


def _listed_ids(client: httpx.Client, document: dict[str, Any]) -> dict[str, list[int]]:
    """The ids each list of the API shows the administrator, by the list's last path
    segment (``partners``, ``deal-types``), and all of them under ``""``."""
    ids: dict[str, list[int]] = {"": []}
    for path, methods in document["paths"].items():
        if "{" in path or "get" not in methods:
            continue
        response = client.get(path.removeprefix(API))
        body = response.json() if response.status_code == 200 else {}
        items = body.get("items", [])
        found = [item["id"] for item in items if isinstance(item, dict) and "id" in item]
        if found:
            ids[path.rsplit("/", 1)[1]] = found
            ids[""] += found
    return ids


# The list whose ids a field names, where its name does not say it (``partner_id``,
# ``team_ids`` and a path's ``{deal_id}`` find theirs by name).
ALIASES = {
    "type": "deal-types",
    "group": "partner-groups",
    "rule": "assignment-rules",
    "in_reply_to": "messages",
    "source": "messages",
    "draft": "messages",
    **dict.fromkeys(("assignee", "owner", "rep", "member", "actor", "from_user"), "users"),
    **dict.fromkeys(("lead_team", "to_team"), "teams"),
}


def _pool(fuzz: Run, name: str) -> list[int]:
    stem = name.removesuffix("_ids").removesuffix("_id")
    for candidate in (ALIASES.get(stem), f"{stem}s", f"{stem.replace('_', '-')}s"):
        if candidate in fuzz.ids:
            return fuzz.ids[candidate]
    return fuzz.ids[""]


def _with_real_ids(value: Any, name: str, data: st.DataObject, fuzz: Run) -> Any:
    """``value`` with, half of the time, each id in it (a field named ``*_id``,
    ``*_ids`` or ``in_reply_to``) replaced by the id of a record of that kind."""
    if isinstance(value, dict):
        return {k: _with_real_ids(v, k, data, fuzz) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_real_ids(v, name, data, fuzz) for v in value]
    names_an_id = name.endswith(("_id", "_ids")) or name == "in_reply_to"
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if names_an_id and is_int and data.draw(st.booleans(), label=f"real {name}"):
        return data.draw(st.sampled_from(_pool(fuzz, name)), label=name)
    if name == "record_type" and isinstance(value, str) and data.draw(st.booleans()):
        return data.draw(st.sampled_from(sorted(record_models())), label=name)
    return value


def _send(client: httpx.Client, case: Any, fuzz: Run, user: str) -> httpx.Response:
    kwargs = case.as_transport_kwargs(
        base_url=fuzz.url, headers={"Authorization": f"Bearer {fuzz.tokens[user]}"}
    )
    if "json" in kwargs:
        content: Any = json.dumps(kwargs["json"]).encode()  # ASCII, as any client can
    else:
        content = kwargs.get("data")
    return client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=kwargs.get("headers"),
        content=content,
    )


def _fuzz(operation: APIOperation, fuzz: Run, client: httpx.Client) -> None:
    """Each generated request is sent as every user in turn."""
    key = (operation.method.upper(), operation.path)
    seen = {user: fuzz.statuses.setdefault((user, *key), []) for user in USERS}
    examples = int(os.environ.get("GROUPWARE_TEST_FUZZ_EXAMPLES", EXAMPLES))
    for mode, count in (
        (GenerationMode.POSITIVE, examples),
        (GenerationMode.NEGATIVE, examples // 2),
    ):

        @hypothesis.settings(
            max_examples=count,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def one(case: Any, data: st.DataObject) -> None:
            case.path_parameters = _with_real_ids(case.path_parameters, "", data, fuzz)
            case.query = _with_real_ids(case.query, "", data, fuzz)
            case.body = _with_real_ids(case.body, "", data, fuzz)
            for user in USERS:
                sent = time.monotonic()
                response = _send(client, case, fuzz, user)
                fuzz.sending += time.monotonic() - sent
                seen[user].append(response.status_code)
                case.validate_response(response, checks=CHECKS)

        one()


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("method", "path"), _operations())
def test_the_api_answers_every_generated_request_as_its_document_says(
    run: Run, method: str, path: str
) -> None:
    with httpx.Client(timeout=30, verify=factories.TLS) as client:
        _fuzz(run.schema[path][method], run, client)
