"""``/api/v1/openapi.json``: a valid OpenAPI 3.1 document that lists every operation,
and that real answers of the live server match."""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any

import httpx
import jsonschema
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from groupware import wiring
from groupware.db import Database
from tests.api.helpers import API, Api, notify_user

if TYPE_CHECKING:
    pass

DOC_URI = "urn:groupware:openapi"


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    response = api.anonymous.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return dict(response.json())


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


class Contract:
    """Checks real answers against the response schemas of the OpenAPI document.

    ``call(client, method, template, ...)`` fills the path template, sends the request
    and checks the answer: its status must be listed for (template, method), and its
    JSON body must match the schema listed for that status (JSON Schema 2020-12, refs
    into ``#/components/schemas`` resolved in the whole document, formats checked).
    It is stricter than the document in one way: an object may not carry properties
    its schema does not name, so that an answer cannot grow undocumented fields.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        strict = copy.deepcopy(document)
        for schema in strict["components"]["schemas"].values():
            if "properties" in schema:
                schema.setdefault("additionalProperties", False)
        self.registry: Registry[Any] = Registry().with_resource(
            DOC_URI, DRAFT202012.create_resource(strict)
        )
        self.checked: set[tuple[str, str, int]] = set()

    def operation(self, template: str, method: str) -> dict[str, Any]:
        path = self.document["paths"].get(API + template)
        assert path is not None, f"{template} is not in the document"
        operation = path.get(method.lower())
        assert operation is not None, f"{method} {template} is not in the document"
        return dict(operation)

    def validator(self, template: str, method: str, status: int) -> Draft202012Validator | None:
        """The validator of the answer with ``status``; None for an answer without body."""
        responses = self.operation(template, method)["responses"]
        assert str(status) in responses, f"{method} {template} does not list {status}"
        if "content" not in responses[str(status)]:
            return None
        pointer = _pointer(
            "paths",
            API + template,
            method.lower(),
            "responses",
            str(status),
            "content",
            "application/json",
            "schema",
        )
        return Draft202012Validator(
            {"$ref": f"{DOC_URI}#{pointer}"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def check(self, response: httpx.Response, template: str) -> httpx.Response:
        method = response.request.method
        validator = self.validator(template, method, response.status_code)
        if validator is None:
            assert response.content == b"", response.text
        else:
            assert response.headers["content-type"] == "application/json"
            errors = [
                f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
                for e in validator.iter_errors(response.json())
            ]
            assert not errors, (method, template, response.status_code, errors)
        self.checked.add((template, method, response.status_code))
        return response

    def call(
        self,
        client: httpx.Client,
        method: str,
        template: str,
        *,
        expect: int,
        json: Any = None,
        params: dict[str, Any] | None = None,
        **path: Any,
    ) -> Any:
        url = template.format(**path)
        response = client.request(method, url, json=json, params=params)
        assert response.status_code == expect, (method, url, response.text)
        self.check(response, template)
        return response.json() if response.content else None


# -- the document -------------------------------------------------------------------


def test_it_serves_a_valid_openapi_3_1_document_without_a_token(document: dict[str, Any]) -> None:
    validate(document)  # raises on an invalid document

    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["token"] == {
        "type": "http",
        "scheme": "bearer",
    }
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def test_it_documents_every_registered_operation_once(document: dict[str, Any]) -> None:
    registered = {
        (API + op.path, op.method.lower()): op
        for api in wiring.current().apis
        for op in api.operations
    }
    documented = {
        (path, method): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }

    assert set(documented) == set(registered)
    assert len(registered) >= 25
    ids = [operation["operationId"] for operation in documented.values()]
    assert len(ids) == len(set(ids))
    for key, op in registered.items():
        operation = documented[key]
        assert operation["operationId"] == op.operation_id
        assert operation["summary"] == op.summary
        assert operation["tags"] == [op.tag]
        assert str(op.status) in operation["responses"], key
        params = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert params == set(re.findall(r"\{(\w+)\}", op.path)), key
        if op.body is not None or op.upload:
            assert "requestBody" in operation, key
            assert {"413", "415"} <= set(operation["responses"]), key
        else:
            assert "requestBody" not in operation, key
        # A write may clash with another one (409); a read never does.
        assert ("409" in operation["responses"]) == (op.method != "GET"), key
        if op.query is not None:
            query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
            fields = op.query.model_fields.items()
            assert query == {f.alias or name for name, f in fields}, key


def test_it_serves_every_documented_operation(api: Api, document: dict[str, Any]) -> None:
    """Each documented (path, method) reaches its handler: without a token it answers
    the documented 401, not a 404 or 405 of the router."""
    contract = Contract(document)
    values = {"record_type": "announcements"}
    for path, methods in document["paths"].items():
        template = path.removeprefix(API)
        url = re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], "1"), template)
        for method, operation in methods.items():
            body = {} if "requestBody" in operation else None
            response = api.anonymous.request(method.upper(), url, json=body)
            assert response.status_code == 401, (method, url, response.text)
            assert response.headers["www-authenticate"] == "Bearer"
            contract.check(response, template)


def test_its_contract_check_catches_an_answer_that_does_not_match(
    document: dict[str, Any],
) -> None:
    contract = Contract(document)
    user = {
        "id": 1,
        "username": "alice",
        "full_name": "Alice",
        "email": "alice@groupware.local",
        "language": "en",
        "is_active": True,
        "roles": [],
        "teams": [],
    }
    validator = contract.validator("/users/{user_id}", "GET", 200)
    assert validator is not None
    validator.validate(user)
    for wrong in (
        {**user, "id": "1"},
        {k: v for k, v in user.items() if k != "email"},
        {**user, "teams": [{"id": 1}]},
        {**user, "password_hash": "x"},  # not documented
    ):
        with pytest.raises(jsonschema.ValidationError):
            validator.validate(wrong)
    page = contract.validator("/history", "GET", 200)
    assert page is not None
    change = {
        "id": 1,
        "at": "2026-01-31T08:00:00Z",
        "actor_id": None,
        "actor_name": None,
        "channel": "cli",
        "action": "create",
        "record_type": "users",
        "record_id": 1,
        "label": "Alice",
        "changes": {"username": [None, "alice"]},
        "text": "System created User “Alice”",
        "details": [{"field": "username", "label": "Username", "old": "—", "new": "alice"}],
    }
    page.validate({"items": [change], "next_cursor": None})
    for wrong_page in (
        {"items": [{**change, "at": "yesterday"}], "next_cursor": None},  # formats count
        {"items": [change]},
        {"items": [change], "next_cursor": 5},
    ):
        with pytest.raises(jsonschema.ValidationError):
            page.validate(wrong_page)
    with pytest.raises(AssertionError):
        contract.validator("/users", "GET", 418)


# -- real answers -------------------------------------------------------------------


def test_it_answers_as_the_document_says(
    api: Api, document: dict[str, Any], database: Database
) -> None:
    contract = Contract(document)
    call = contract.call
    cast = api.cast
    alice, bob, root = api("alice"), api("bob"), api("root")
    notify_user(database, cast.alice, "Welcome", link="/", record_type="users", record_id=1)

    # Accounts.
    call(alice, "GET", "/me", expect=200)
    call(alice, "PATCH", "/me", json={"full_name": "Alice Adams"}, expect=200)
    call(alice, "GET", "/users", params={"limit": 2}, expect=200)
    call(alice, "GET", "/users/{user_id}", user_id=cast.dave.id, expect=200)
    eve = call(root, "POST", "/users", json={"username": "eve", "full_name": "Eve"}, expect=201)
    call(root, "PATCH", "/users/{user_id}", user_id=eve["id"], json={"language": "en"}, expect=200)
    call(alice, "GET", "/teams", expect=200)
    call(alice, "GET", "/teams/{team_id}", team_id=cast.north.id, expect=200)
    east = call(root, "POST", "/teams", json={"name": "East"}, expect=201)
    call(root, "PATCH", "/teams/{team_id}", team_id=east["id"], json={"name": "E"}, expect=200)
    member = {"team_id": east["id"], "user_id": eve["id"]}
    call(root, "PUT", "/teams/{team_id}/members/{user_id}", **member, json={}, expect=200)
    call(root, "DELETE", "/teams/{team_id}/members/{user_id}", **member, expect=204)
    held = {"title": "East", "team_id": east["id"]}
    held = call(root, "POST", "/announcements", json=held, expect=201)
    call(root, "DELETE", "/teams/{team_id}", team_id=east["id"], expect=409)
    call(root, "DELETE", "/announcements/{announcement_id}", announcement_id=held["id"], expect=204)
    call(root, "DELETE", "/teams/{team_id}", team_id=east["id"], expect=204)

    # Announcements and their shares.
    draft = call(alice, "POST", "/announcements", json={"title": "Plan"}, expect=201)
    one = {"announcement_id": draft["id"]}
    record = {"record_type": "announcements", "record_id": draft["id"]}
    shares = call(
        alice,
        "POST",
        "/records/{record_type}/{record_id}/shares",
        **record,
        json={"user_id": cast.bob.id, "permission": "write"},
        expect=200,
    )
    call(bob, "GET", "/records/{record_type}/{record_id}/shares", **record, expect=200)
    patch = {"title": "Plan B", "expires_on": "2099-12-31"}
    call(bob, "PATCH", "/announcements/{announcement_id}", **one, json=patch, expect=200)
    call(alice, "POST", "/announcements/{announcement_id}/publish", **one, expect=200)
    call(alice, "POST", "/announcements/{announcement_id}/withdraw", **one, expect=200)
    call(alice, "GET", "/announcements", expect=200)
    call(alice, "GET", "/announcements/{announcement_id}", **one, expect=200)
    share_id = shares["items"][0]["id"]
    call(
        alice,
        "DELETE",
        "/records/{record_type}/{record_id}/shares/{share_id}",
        **record,
        share_id=share_id,
        expect=204,
    )
    call(alice, "GET", "/history", params={"record_type": "announcements"}, expect=200)
    call(root, "GET", "/history", params={"limit": 3}, expect=200)
    call(alice, "DELETE", "/announcements/{announcement_id}", **one, expect=204)

    # Notifications.
    [note] = call(alice, "GET", "/notifications", expect=200)["items"]
    read = {"notification_id": note["id"]}
    call(alice, "POST", "/notifications/{notification_id}/read", **read, expect=200)
    call(alice, "POST", "/notifications/read-all", expect=200)

    # Errors: 400, 401, 403, 404, 415, 422 (and 409 above).
    malformed = alice.post(
        "/announcements", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert contract.check(malformed, "/announcements").status_code == 400
    call(api.anonymous, "GET", "/me", expect=401)
    call(alice, "POST", "/users", json={"username": "xavier", "full_name": "X"}, expect=403)
    call(bob, "GET", "/announcements/{announcement_id}", **one, expect=404)
    call(alice, "GET", "/users/{user_id}", user_id=999999, expect=404)
    form = alice.patch("/me", content=b"language=hr")
    assert contract.check(form, "/me").status_code == 415
    call(alice, "PATCH", "/me", json={"language": "xx"}, expect=422)
    call(alice, "GET", "/users", params={"cursor": "x"}, expect=422)
    call(root, "POST", "/users", json={"username": "alice", "full_name": "A"}, expect=422)

    # Every GET of the foundation's resources was checked with a real answer (each
    # later module checks its own, e.g. tests/crm/test_api_crm.py).
    foundation = {"accounts", "announcements", "history", "notifications", "sharing"}
    gets = {
        path.removeprefix(API)
        for path, methods in document["paths"].items()
        if "get" in methods and set(methods["get"]["tags"]) <= foundation
    }
    assert gets <= {template for template, method, status in contract.checked if status == 200}
    statuses = {status for _t, _m, status in contract.checked}
    assert statuses >= {200, 201, 204, 400, 401, 403, 404, 409, 415, 422}
