"""Bearer-token authentication of the JSON API, against the live server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from groupware.db import Database
from tests.api.helpers import Api, credential_of, error_of, revoke_token
from tests.factories import api_token

if TYPE_CHECKING:
    pass


def test_it_refuses_a_request_without_a_token_with_a_json_401(api: Api) -> None:
    response = api.anonymous.get("/me")
    error = error_of(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in error["message"]
    assert error["fields"] == {}


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer gwt_00000000_not-a-real-secret",
        "Bearer not-even-a-token",
        "Bearer",
        "Basic YWxpY2U6Y29ycmVjdCBob3JzZSBiYXR0ZXJ5",
        "{alice}",  # a real token without the scheme
        "Token {alice}",
        "Bearer {alice}x",  # a real token, altered
    ],
)
def test_it_refuses_a_token_it_does_not_know(api: Api, authorization: str) -> None:
    header = authorization.format(alice=api.token("alice"))
    response = api.anonymous.get("/me", headers={"Authorization": header})
    error_of(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"


def test_it_accepts_a_valid_token_as_its_user(api: Api) -> None:
    for name in ("alice", "root"):
        response = api(name).get("/me")
        assert response.status_code == 200, response.text
        assert response.json()["username"] == name


def test_it_refuses_a_revoked_token(api: Api, database: Database) -> None:
    assert api("alice").get("/me").status_code == 200
    other = api.client(api_token(database, api.user("alice")))

    revoke_token(database, api.token("alice"))

    response = api("alice").get("/me")
    error_of(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    # Only that token: alice's other token still works.
    assert other.get("/me").json()["username"] == "alice"


def test_it_refuses_the_token_of_a_disabled_user(api: Api) -> None:
    alice = api.user("alice")
    assert api("alice").get("/announcements").status_code == 200

    response = api("root").patch(f"/users/{alice.id}", json={"is_active": False})
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False

    for method, path in (("GET", "/me"), ("GET", "/announcements"), ("POST", "/announcements")):
        response = api("alice").request(method, path, json={"title": "Still here?"})
        error_of(response, 401)
    assert api("root").get("/announcements").json()["items"] == []


def test_it_notes_when_a_token_was_last_used(api: Api, database: Database) -> None:
    token = api.token("alice")
    assert credential_of(database, token).last_used_at is None

    # Noted even for a request that fails (a 404 rolls its own work back).
    assert api("alice").get("/users/999999").status_code == 404

    assert credential_of(database, token).last_used_at is not None


def test_it_serves_many_first_uses_of_tokens_at_once(api: Api, database: Database) -> None:
    """A token's first use notes the time: that write must not break a read request
    running next to other writers (on SQLite it failed with "database is locked")."""
    alice = api.user("alice")
    clients = [api.client(api_token(database, alice)) for _ in range(24)]
    writer = api("alice")

    def call(i: int) -> int:
        if i % 3 == 0:
            return writer.post("/announcements", json={"title": f"Notice {i}"}).status_code
        return clients[i].get("/me").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(call, range(len(clients))))

    assert codes == [201 if i % 3 == 0 else 200 for i in range(len(clients))]
    for i, client in enumerate(clients):
        if i % 3:
            token = client.headers["Authorization"].removeprefix("Bearer ")
            assert credential_of(database, token).last_used_at is not None
