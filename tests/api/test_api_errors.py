"""How the API answers requests it cannot serve: always JSON, and never half done."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, get_args

import httpx
import pytest
from pydantic import BaseModel, TypeAdapter

from groupware import wiring
from groupware.app import collect_routes
from groupware.validation import IN_CALENDAR, Id, Schema
from tests.api.helpers import MAX_ID, Api, error_of, fields_of

if TYPE_CHECKING:
    pass


def announcement(api: Api) -> dict[str, Any]:
    response = api("alice").post("/announcements", json={"title": "Plan", "body": "Numbers."})
    assert response.status_code == 201, response.text
    return dict(response.json())


def changes_of(api: Api, record_type: str, record_id: int) -> list[Any]:
    params = {"record_type": record_type, "record_id": record_id}
    return list(api("root").get("/history", params=params).json()["items"])


@pytest.mark.parametrize("body", [b"{bad json", b'{"title": "Plan",}', b"\xff\xfe", b"[1, 2"])
def test_it_answers_a_body_that_is_not_json_with_a_json_400(api: Api, body: bytes) -> None:
    response = api("alice").post(
        "/announcements", content=body, headers={"Content-Type": "application/json"}
    )

    error = error_of(response, 400)
    assert error["message"] == "The body is not valid JSON."
    assert api("alice").get("/announcements").json()["items"] == []


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"]
)
def test_it_answers_a_body_of_another_type_with_415(api: Api, content_type: str) -> None:
    response = api("alice").post(
        "/announcements", content=b"title=Plan", headers={"Content-Type": content_type}
    )

    assert error_of(response, 415)["message"] == "Send the body as application/json."
    assert api("alice").get("/announcements").json()["items"] == []


def test_it_answers_a_body_without_a_type_with_415(api: Api) -> None:
    response = api("alice").patch("/me", content=b'{"full_name": "Al"}')
    error_of(response, 415)
    assert api("alice").get("/me").json()["full_name"] == "Alice"


def test_it_answers_body_errors_in_the_users_language_after_checking_the_token(
    api: Api,
) -> None:
    def post_bad_json(client: httpx.Client) -> httpx.Response:
        headers = {"Content-Type": "application/json"}
        return client.post("/announcements", content=b"{bad", headers=headers)

    error_of(post_bad_json(api.anonymous), 401)
    error_of(api.anonymous.post("/announcements", content=b"title=Plan"), 401)
    english = error_of(post_bad_json(api("alice")), 400)
    croatian = error_of(post_bad_json(api("root")), 400)  # root reads Croatian
    assert english["message"] == "The body is not valid JSON."
    assert croatian["message"] != english["message"]


@pytest.mark.parametrize("body", [b"[]", b'"Plan"', b"42", b"null", b""])
def test_it_wants_a_json_object_as_the_body(api: Api, body: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    response = api("alice").post("/announcements", content=body, headers=headers)
    assert list(fields_of(response)) == [""]


def test_it_changes_nothing_when_one_field_of_a_patch_is_invalid(api: Api) -> None:
    cast = api.cast
    draft = announcement(api)
    path = f"/announcements/{draft['id']}"
    before_me = api("alice").get("/me").json()

    for who, url, body, field in (
        ("alice", path, {"title": "New plan", "audience": "everyone"}, "audience"),
        ("alice", "/me", {"full_name": "Alice Adams", "language": "xx"}, "language"),
        ("root", f"/users/{cast.bob.id}", {"full_name": "Rob", "email": "rob@else.org"}, "email"),
        ("root", f"/teams/{cast.north.id}", {"description": "Up", "name": ""}, "name"),
    ):
        response = api(who).patch(url, json=body)
        assert list(fields_of(response)) == [field], url

    assert api("alice").get(path).json() == draft
    assert api("alice").get("/me").json() == before_me
    assert api("root").get(f"/users/{cast.bob.id}").json()["full_name"] == "Bob"
    assert api("root").get(f"/teams/{cast.north.id}").json()["description"] == ""
    assert [c["action"] for c in changes_of(api, "announcements", draft["id"])] == ["create"]
    assert [c for c in changes_of(api, "users", cast.bob.id) if "full_name" in c["changes"]] == [
        c for c in changes_of(api, "users", cast.bob.id) if c["action"] == "create"
    ]


def test_it_changes_nothing_when_the_handler_fails_after_writing(api: Api) -> None:
    """The email is checked after the full name was set: the 422 rolls both back."""
    alice = api.cast.alice
    response = api("root").patch(
        f"/users/{alice.id}", json={"full_name": "Alice Adams", "email": "bob@groupware.local"}
    )
    assert list(fields_of(response)) == ["email"]
    assert api("root").get(f"/users/{alice.id}").json()["full_name"] == "Alice"


@pytest.mark.parametrize("path", ["/nope", "/users/alice", "/announcements/1/archive", "/v2/me"])
def test_it_answers_an_unknown_route_with_a_json_404(api: Api, path: str) -> None:
    for client in (api.anonymous, api("alice")):
        response = client.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/json"
        assert response.json()["error"]["status"] == 404


def test_it_answers_a_method_a_route_does_not_have_with_a_json_405_naming_the_allowed(
    api: Api,
) -> None:
    response = api("alice").delete("/me")
    assert response.status_code == 405
    assert response.json()["error"]["status"] == 405
    assert sorted(response.headers["Allow"].split(", ")) == ["GET", "HEAD", "PATCH"]
    response = api("alice").put("/announcements")
    assert sorted(response.headers["Allow"].split(", ")) == ["GET", "HEAD", "POST"]


def test_it_answers_ids_the_database_cannot_hold_with_404_or_422(api: Api) -> None:
    """Bigger than a database integer: no such record, not a 500 (PostgreSQL refused them)."""
    cast = api.cast
    too_big = MAX_ID + 1
    for path in (
        f"/users/{too_big}",
        f"/teams/{too_big}",
        f"/announcements/{too_big}",
        f"/announcements/{10**30}",
        f"/records/announcements/{too_big}/shares",
    ):
        error_of(api("alice").get(path), 404)
    error_of(api("alice").post(f"/notifications/{too_big}/read"), 404)
    error_of(api("root").put(f"/teams/{cast.north.id}/members/{too_big}", json={}), 404)

    for path, params in (
        ("/users", {"team_id": too_big}),
        ("/users", {"role_id": -1}),
        ("/users", {"cursor": str(too_big)}),
        ("/history", {"record_id": 10**30}),
        ("/history", {"actor_id": too_big}),
        ("/notifications", {"cursor": str(10**30)}),
    ):
        assert list(fields_of(api("alice").get(path, params=params))) == list(params)

    draft = announcement(api)
    response = api("alice").post(
        f"/records/announcements/{draft['id']}/shares", json={"user_id": too_big}
    )
    assert list(fields_of(response)) == ["user_id"]
    response = api("root").post("/announcements", json={"title": "T", "team_id": too_big})
    assert list(fields_of(response)) == ["team_id"]
    response = api("root").patch(f"/announcements/{draft['id']}", json={"team_id": too_big})
    assert list(fields_of(response)) == ["team_id"]
    body = {"username": "eve", "full_name": "Eve", "role_ids": [1, too_big]}
    assert list(fields_of(api("root").post("/users", json=body))) == ["role_ids.1"]
    body = {"team_ids": [too_big]}
    assert list(fields_of(api("root").patch(f"/users/{cast.bob.id}", json=body))) == ["team_ids.0"]


def test_it_answers_a_reply_to_a_message_id_the_database_cannot_hold_with_422(api: Api) -> None:
    """PostgreSQL refused 99999999999 with "integer out of range" (500)."""
    for too_big in (MAX_ID + 1, 99_999_999_999):
        body = {"to": ["bob@example.com"], "subject": "Re", "in_reply_to": too_big}
        assert list(fields_of(api("alice").post("/messages", json=body))) == ["in_reply_to"]
    body = {"to": ["bob@example.com"], "subject": "Re", "in_reply_to": MAX_ID}
    error_of(api("alice").post("/messages", json=body), 404)


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"], ids=["nul", "lone-surrogate"])
def test_it_answers_text_no_database_can_store_with_422_naming_the_field(
    api: Api, bad: str
) -> None:
    """PostgreSQL text cannot hold NUL, and half a UTF-16 pair (JSON's ``\\ud800``) is no
    character: both were 500s (the fuzz test found them) and are field errors now."""

    def post(path: str, body: dict[str, Any]) -> httpx.Response:
        content = json.dumps(body).encode()  # ASCII: escapes what UTF-8 cannot carry
        return api("root").post(path, content=content, headers={"Content-Type": "application/json"})

    response = post("/teams", {"name": "East", "description": bad})
    assert list(fields_of(response)) == ["description"]
    body = {"name": "Sale", "phases": [{"name": "Offer"}, {"name": bad}]}
    assert list(fields_of(post("/deal-types", body))) == ["phases.1.name"]
    # A field named so is refused too, and the answer can still be sent.
    assert list(fields_of(post("/teams", {"name": "East", bad: "x"}))) == ["a\ufffdb"]
    assert [t["name"] for t in api("root").get("/teams").json()["items"]] == ["North", "South"]


def test_it_answers_dates_outside_the_calendar_it_keeps_with_422(api: Api) -> None:
    """Dates at the edges of Python's calendar (year 1, year 9999) overflowed in date
    arithmetic (a deal's planned phases, a time zone shift): 500s. Every date and time
    an input takes lies within the years 1900-2999."""
    cast, root = api.cast, api("root")
    kind = {"name": "Sale", "phases": [{"name": "Offer", "planned_days": 30}]}
    kind_id = root.post("/deal-types", json=kind).json()["id"]
    partner = root.post("/partners", json={"name": "Konzum d.d."}).json()["id"]
    deal = {"title": "D", "partner_id": partner, "type_id": kind_id}
    for field, value in (("started_on", "9999-12-30"), ("expected_close", "1899-12-31")):
        response = root.post("/deals", json={**deal, field: value})
        assert list(fields_of(response)) == [field], response.text
    for field, value in (
        ("due_at", "9999-12-31T23:59:00-05:00"),
        ("starts_at", "0001-01-01T00:00"),
    ):
        response = root.post("/tasks", json={"title": "T", field: value})
        assert list(fields_of(response)) == [field], response.text
    document = {"kind": "offer", "number": "1", "partner_id": partner, "net_amount": 1}
    response = root.put("/documents", json={**document, "gross_amount": 1, "date": "0001-01-01"})
    assert list(fields_of(response)) == ["date"]
    week = {"user_ids": str(cast.alice.id), "start": "9999-12-31T00:00:00Z"}
    response = root.get("/freebusy", params={**week, "end": "9999-12-31T23:00:00-05:00"})
    assert set(fields_of(response)) == {"start", "end"}
    for path, params in (
        ("/history", {"until": "0001-01-01T00:00:00+01:00"}),
        ("/documents", {"date_from": "0001-01-01"}),
        ("/reports/forecast", {"from": "9999-12-01"}),
    ):
        assert list(fields_of(root.get(path, params=params))) == list(params), path
    made = root.post("/deals", json={**deal, "started_on": "2999-12-31"})
    assert made.status_code == 201, made.text


def test_it_answers_a_nul_in_the_address_with_400(api: Api) -> None:
    """PostgreSQL cannot compare text holding NUL: a search for one was a 500."""
    for path in ("/users", "/partners", "/messages", "/announcements"):
        response = api("root").get(path, params={"q": "a\x00b"})
        assert error_of(response, 400)["message"] == "Adresa sadrži znak koji nije dopušten."
    response = api("root").get("/records/a%00b/1/shares")
    assert error_of(response, 400)["message"] == "Adresa sadrži znak koji nije dopušten."


def _unbounded_integers(schema: dict[str, Any], defs: dict[str, Any], where: str) -> list[str]:
    """The places in a JSON schema where an integer has no lower or no upper bound."""
    if "$ref" in schema:
        return _unbounded_integers(defs[schema["$ref"].split("/")[-1]], defs, where)
    found = []
    if schema.get("type") == "integer" and not (
        {"minimum", "exclusiveMinimum"} & schema.keys()
        and {"maximum", "exclusiveMaximum"} & schema.keys()
    ):
        found.append(where)
    for part in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(part, []):
            found += _unbounded_integers(option, defs, where)
    for name, prop in schema.get("properties", {}).items():
        found += _unbounded_integers(prop, defs, f"{where}.{name}")
    for part in ("items", "additionalProperties"):
        if isinstance(schema.get(part), dict):
            found += _unbounded_integers(schema[part], defs, f"{where}[]")
    return found


def _subclasses(cls: type[BaseModel]) -> Iterator[type[BaseModel]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_integer_an_input_accepts_is_bounded_so_the_database_never_overflows() -> None:
    """Every input model of the API and the forms (their pydantic schemas) bounds each
    integer it accepts (``Id``, or ``ge``/``le``), so that no number reaches a database
    integer column, or a query on one, outside its range."""
    collect_routes()  # imports every area
    models = {m for m in _subclasses(Schema) if m.__module__.startswith("groupware.")}
    for area in wiring.current().apis:
        models |= {m for op in area.operations for m in (op.body, op.query) if m is not None}
    assert len(models) > 40
    unbounded = []
    for model in models:
        schema = model.model_json_schema(mode="validation")
        name = f"{model.__module__}.{model.__name__}"
        unbounded += _unbounded_integers(schema, schema.get("$defs", {}), name)
    assert sorted(unbounded) == []
    # The bounds are the database's: a record id is a 32-bit integer.
    assert TypeAdapter(Id).json_schema() == {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    # Dates and times are kept within years that date arithmetic cannot overflow.
    unchecked = [
        f"{model.__module__}.{model.__name__}.{name}"
        for model in models
        for name, info in model.model_fields.items()
        if _holds_a_date(info.annotation) and IN_CALENDAR not in info.metadata
    ]
    assert sorted(unchecked) == []


def _holds_a_date(annotation: Any) -> bool:
    if annotation in (dt.date, dt.datetime):
        return True
    return any(_holds_a_date(arg) for arg in get_args(annotation))


def test_it_answers_head_like_get_without_a_body(api: Api) -> None:
    response = api("alice").head("/me")
    assert response.status_code == 200
    assert response.content == b""
