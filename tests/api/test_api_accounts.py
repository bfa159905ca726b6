"""``/me``, ``/users`` and ``/teams`` through the live server."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from groupware.db import Database
from tests.api.helpers import Api, error_of, fields_of, walk
from tests.factories import role_id

if TYPE_CHECKING:
    pass


def staff_role_id(database: Database) -> int:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return role_id(session, "staff")


def history_of(api: Api, record_type: str, record_id: int, *, who: str = "root") -> list[Any]:
    response = api(who).get("/history", params={"record_type": record_type, "record_id": record_id})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def names(items: list[dict[str, Any]]) -> list[str]:
    return [item["username"] for item in items]


# -- /me ----------------------------------------------------------------------------


def test_it_shows_me_with_the_rights_of_my_roles(api: Api) -> None:
    me = api("alice").get("/me").json()
    assert me["username"] == "alice"
    assert me["email"] == "alice@groupware.local"
    assert me["roles"] == ["staff"]
    assert me["teams"] == [{"id": api.cast.north.id, "name": "North", "is_lead": False}]
    assert me["permissions"]["announcements"]["view"] == ["own"]
    assert "system" not in me["permissions"]

    dave = api("dave").get("/me").json()
    assert dave["teams"][0]["is_lead"] is True
    assert "team" in dave["permissions"]["announcements"]["view"]

    root = api("root").get("/me").json()
    assert root["permissions"]["system"] == {"admin": ["all"]}


def test_it_changes_my_full_name_and_language(api: Api) -> None:
    response = api("alice").patch("/me", json={"full_name": "Alice Adams", "language": "hr"})

    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Alice Adams"
    assert response.json()["language"] == "hr"
    me = api("alice").get("/me").json()
    assert (me["full_name"], me["language"]) == ("Alice Adams", "hr")
    assert "permissions" in response.json()
    change = history_of(api, "users", api.user("alice").id)[0]
    assert change["actor_id"] == api.user("alice").id
    assert change["channel"] == "api"
    assert change["changes"]["full_name"] == ["Alice", "Alice Adams"]
    assert "language" not in change["changes"]  # a personal setting, not history


def test_it_refuses_a_language_it_does_not_offer(api: Api) -> None:
    response = api("alice").patch("/me", json={"language": "de"})

    assert fields_of(response) == {"language": "Choose one of the offered values."}
    assert api("alice").get("/me").json()["language"] == "en"


@pytest.mark.parametrize(
    "body",
    [{"nickname": "Al"}, {"username": "mallory"}, {"role_ids": [1]}, {"is_active": False}],
)
def test_it_refuses_fields_i_may_not_change_about_myself(api: Api, body: dict[str, Any]) -> None:
    before = api("alice").get("/me").json()

    response = api("alice").patch("/me", json=body)

    [name] = body
    assert fields_of(response) == {name: "This field is not expected."}
    assert api("alice").get("/me").json() == before


def test_it_answers_errors_in_the_users_language_unless_the_client_asks_for_another(
    api: Api,
) -> None:
    bad = {"language": "de"}
    english = fields_of(api("alice").patch("/me", json=bad))["language"]
    croatian = fields_of(api("root").patch("/me", json=bad))["language"]  # root reads hr
    assert english == "Choose one of the offered values."
    assert croatian != english
    asked = api("root").patch("/me", json=bad, headers={"Accept-Language": "en"})
    assert fields_of(asked)["language"] == english


# -- /users -------------------------------------------------------------------------


def test_it_lists_the_user_directory_to_every_colleague(api: Api) -> None:
    response = api("charlie").get("/users")

    assert response.status_code == 200
    body = response.json()
    assert names(body["items"]) == ["alice", "bob", "charlie", "dave", "root"]
    assert body["next_cursor"] is None


def test_it_filters_users_by_text_team_role_and_activity(api: Api, database: Database) -> None:
    users = api("alice")
    cast = api.cast

    assert names(users.get("/users", params={"q": "ALI"}).json()["items"]) == ["alice"]
    assert names(users.get("/users", params={"q": "charlie@"}).json()["items"]) == ["charlie"]
    assert users.get("/users", params={"q": "%"}).json()["items"] == []
    north = users.get("/users", params={"team_id": cast.north.id}).json()["items"]
    assert names(north) == ["alice", "bob", "dave"]
    south = users.get("/users", params={"team_id": cast.south.id}).json()["items"]
    assert names(south) == ["charlie"]
    staff = users.get("/users", params={"role_id": staff_role_id(database)}).json()["items"]
    assert names(staff) == ["alice", "bob", "charlie"]
    assert users.get("/users", params={"active": "false"}).json()["items"] == []

    api("root").patch(f"/users/{cast.bob.id}", json={"is_active": False})

    inactive = users.get("/users", params={"active": "false"}).json()["items"]
    assert names(inactive) == ["bob"]
    assert inactive[0]["is_active"] is False
    active = users.get("/users", params={"active": "true", "team_id": cast.north.id})
    assert names(active.json()["items"]) == ["alice", "dave"]


def test_it_walks_through_all_users_with_a_cursor(api: Api) -> None:
    pages = walk(api("alice"), "/users", limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    ids = [user["id"] for page in pages for user in page]
    assert len(ids) == len(set(ids)) == 5
    everyone = api("alice").get("/users").json()["items"]
    assert ids == [user["id"] for user in everyone]


def test_it_takes_an_empty_cursor_as_the_first_page(api: Api) -> None:
    """``?cursor=``, as a client fills a template with no cursor yet."""
    first = api("alice").get("/users", params={"limit": 2}).json()
    for cursor in ("", " "):
        response = api("alice").get("/users", params={"limit": 2, "cursor": cursor})
        assert response.status_code == 200, response.text
        assert response.json() == first


def test_it_ends_the_walk_without_an_empty_page(api: Api) -> None:
    pages = walk(api("alice"), "/users", limit=5)
    assert [len(page) for page in pages] == [5]
    pages = walk(api("alice"), "/users", limit=500, q="nobody")
    assert pages == [[]]


@pytest.mark.parametrize(
    "params",
    [{"cursor": "abc"}, {"cursor": "-1"}, {"cursor": "²"}, {"limit": "0"}, {"limit": "501"}],
)
def test_it_refuses_a_page_it_cannot_serve(api: Api, params: dict[str, str]) -> None:
    response = api("alice").get("/users", params=params)
    [name] = params
    assert list(fields_of(response)) == [name]


def test_it_shows_one_user(api: Api) -> None:
    dave = api.cast.dave
    response = api("charlie").get(f"/users/{dave.id}")

    assert response.status_code == 200
    assert response.json() == {
        "id": dave.id,
        "username": "dave",
        "full_name": "Dave",
        "email": "dave@groupware.local",
        "language": "en",
        "is_active": True,
        "roles": ["manager"],
        "teams": [{"id": api.cast.north.id, "name": "North", "is_lead": True}],
    }
    error_of(api("charlie").get("/users/999999"), 404)


def test_it_lets_only_administrators_create_and_change_users(api: Api) -> None:
    bob = api.cast.bob
    response = api("alice").post("/users", json={"username": "eve", "full_name": "Eve"})
    error_of(response, 403)
    response = api("dave").patch(f"/users/{bob.id}", json={"full_name": "Robert"})
    error_of(response, 403)
    assert api("alice").get("/users", params={"q": "eve"}).json()["items"] == []
    assert api("alice").get(f"/users/{bob.id}").json()["full_name"] == "Bob"

    created = api("root").post("/users", json={"username": "eve", "full_name": "Eve"})
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "eve@groupware.local"
    changed = api("root").patch(f"/users/{bob.id}", json={"full_name": "Robert"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["full_name"] == "Robert"
    assert api("alice").get(f"/users/{bob.id}").json()["full_name"] == "Robert"


def test_it_creates_a_user_with_roles_teams_and_a_password(api: Api, database: Database) -> None:
    north = api.cast.north.id
    response = api("root").post(
        "/users",
        json={
            "username": "eve",
            "full_name": "Eve Evans",
            "email": "EVE.EVANS@groupware.local",
            "language": "en",
            "role_ids": [staff_role_id(database)],
            "team_ids": [north],
            "lead_team_ids": [north],
            "password": "a long enough password",
        },
    )

    assert response.status_code == 201, response.text
    eve = response.json()
    assert eve["email"] == "eve.evans@groupware.local"
    assert eve["roles"] == ["staff"]
    assert eve["teams"] == [{"id": north, "name": "North", "is_lead": True}]
    assert api("alice").get(f"/users/{eve['id']}").json() == eve
    # The new user works at once with a token of her own.
    assert api.as_user_id(eve["id"]).get("/me").json()["permissions"]["announcements"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "alice", "full_name": "Another Alice"}, "username"),
        ({"username": "ALICE", "full_name": "Shouting Alice"}, "username"),
        ({"username": "eve", "full_name": "Eve", "email": "eve@example.com"}, "email"),
        ({"username": "eve", "full_name": "Eve", "email": "bob@groupware.local"}, "email"),
        ({"username": "eve", "full_name": "Eve", "email": "not an address"}, "email"),
        ({"username": "Eve Evans", "full_name": "Eve"}, "username"),
        ({"username": "eve"}, "full_name"),
        ({"username": "eve", "full_name": "Eve", "password": "short"}, "password"),
        ({"username": "eve", "full_name": "Eve", "role_ids": [999999]}, "role_ids"),
    ],
)
def test_it_refuses_an_invalid_user_with_a_message_on_the_field(
    api: Api, body: dict[str, Any], field: str
) -> None:
    response = api("root").post("/users", json=body)

    fields = fields_of(response)
    assert list(fields) == [field]
    assert fields[field]
    assert names(api("root").get("/users").json()["items"]) == [
        "alice",
        "bob",
        "charlie",
        "dave",
        "root",
    ]


def test_it_refuses_an_address_outside_the_mail_domain_on_change(api: Api) -> None:
    bob = api.cast.bob
    response = api("root").patch(
        f"/users/{bob.id}", json={"email": "bob@example.com"}, headers={"Accept-Language": "en"}
    )
    assert fields_of(response) == {"email": "The address must be in the company's mail domain."}
    assert api("root").get(f"/users/{bob.id}").json()["email"] == "bob@groupware.local"


def test_it_records_users_created_and_changed_through_the_api_in_the_history(api: Api) -> None:
    root = api.cast.root
    eve = api("root").post("/users", json={"username": "eve", "full_name": "Eve"}).json()
    api("root").patch(f"/users/{eve['id']}", json={"full_name": "Eve Evans", "language": "en"})

    changed, created = history_of(api, "users", eve["id"])

    assert created["action"] == "create"
    assert (created["actor_id"], created["actor_name"]) == (root.id, "Root")
    assert created["channel"] == "api"
    assert (created["record_type"], created["record_id"]) == ("users", eve["id"])
    assert created["changes"]["username"] == [None, "eve"]
    assert created["changes"]["email"] == [None, "eve@groupware.local"]
    assert "password_hash" not in created["changes"]
    assert changed["action"] == "update"
    assert changed["channel"] == "api"
    assert changed["actor_id"] == root.id
    assert changed["changes"] == {"full_name": ["Eve", "Eve Evans"]}  # language: a setting
    # The filters of the history list find the same rows.
    by_channel = api("root").get("/history", params={"channel": "api", "actor_id": root.id})
    assert [c["id"] for c in by_channel.json()["items"]] == [changed["id"], created["id"]]
    created_only = api("root").get(
        "/history", params={"record_type": "users", "action": "create", "record_id": eve["id"]}
    )
    assert [c["id"] for c in created_only.json()["items"]] == [created["id"]]


def test_it_shows_the_history_of_accounts_to_administrators_and_to_the_user_only(
    api: Api,
) -> None:
    bob = api.cast.bob
    for name in ("alice", "bob", "root"):
        api(name)  # their tokens are made now, not in the middle of the test
    api("root").patch(f"/users/{bob.id}", json={"full_name": "Robert"})

    assert history_of(api, "users", bob.id, who="alice") == []
    own = history_of(api, "users", bob.id, who="bob")
    assert own[0]["changes"] == {"full_name": ["Bob", "Robert"]}
    # The same changes; their words are in each reader's language (root reads Croatian).
    raw = [(c["id"], c["changes"]) for c in history_of(api, "users", bob.id, who="root")]
    assert raw == [(c["id"], c["changes"]) for c in own]


def test_it_rolls_back_a_user_whose_creation_failed_half_way(api: Api) -> None:
    """The user row is written before the teams are checked; the 422 undoes it."""
    cast = api.cast
    response = api("root").post(
        "/users",
        json={
            "username": "eve",
            "full_name": "Eve",
            "team_ids": [cast.north.id],
            "lead_team_ids": [cast.south.id],
        },
    )

    assert list(fields_of(response)) == ["lead_team_ids"]
    assert api("root").get("/users", params={"q": "eve"}).json()["items"] == []
    creates = api("root").get("/history", params={"record_type": "users", "action": "create"})
    assert [c["changes"]["username"][1] for c in creates.json()["items"]] == [
        "root",
        "dave",
        "charlie",
        "bob",
        "alice",
    ]


# -- /teams -------------------------------------------------------------------------


def test_it_lists_and_shows_teams_with_their_members(api: Api) -> None:
    cast = api.cast
    response = api("charlie").get("/teams")

    assert response.status_code == 200
    north, south = response.json()["items"]
    assert response.json()["next_cursor"] is None
    assert north == {
        "id": cast.north.id,
        "name": "North",
        "description": "",
        "members": [
            {"user_id": cast.alice.id, "full_name": "Alice", "is_lead": False},
            {"user_id": cast.bob.id, "full_name": "Bob", "is_lead": False},
            {"user_id": cast.dave.id, "full_name": "Dave", "is_lead": True},
        ],
    }
    assert south["members"] == [
        {"user_id": cast.charlie.id, "full_name": "Charlie", "is_lead": False}
    ]
    assert api("charlie").get(f"/teams/{cast.north.id}").json() == north
    error_of(api("charlie").get("/teams/999999"), 404)
    pages = walk(api("charlie"), "/teams", limit=1)
    assert [[t["name"] for t in page] for page in pages] == [["North"], ["South"]]


def test_it_lets_only_administrators_change_teams(api: Api) -> None:
    cast = api.cast
    north = f"/teams/{cast.north.id}"
    before = api("dave").get("/teams").json()

    for method, path, body in (
        ("POST", "/teams", {"name": "East"}),
        ("PATCH", north, {"name": "Up North"}),
        ("DELETE", north, None),
        ("PUT", f"{north}/members/{cast.charlie.id}", {"is_lead": True}),
        ("DELETE", f"{north}/members/{cast.alice.id}", None),
    ):
        response = api("dave").request(method, path, json=body)
        error_of(response, 403)

    assert api("dave").get("/teams").json() == before


def test_it_creates_renames_and_deletes_a_team(api: Api) -> None:
    admin = api("root")
    response = admin.post("/teams", json={"name": "East", "description": "Sales, east"})
    assert response.status_code == 201, response.text
    east = response.json()
    assert east == {"id": east["id"], "name": "East", "description": "Sales, east", "members": []}

    renamed = admin.patch(f"/teams/{east['id']}", json={"name": "Eastern"})
    assert renamed.status_code == 200, renamed.text
    # A PATCH changes what it names; the description stays.
    assert renamed.json()["description"] == "Sales, east"
    described = admin.patch(f"/teams/{east['id']}", json={"description": ""})
    assert (described.json()["name"], described.json()["description"]) == ("Eastern", "")
    assert list(fields_of(admin.post("/teams", json={"name": "north"}))) == ["name"]
    assert list(fields_of(admin.patch(f"/teams/{east['id']}", json={"name": "South"}))) == ["name"]
    assert list(fields_of(admin.patch(f"/teams/{east['id']}", json={"name": ""}))) == ["name"]

    deleted = admin.delete(f"/teams/{east['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    error_of(admin.get(f"/teams/{east['id']}"), 404)
    history = history_of(api, "teams", east["id"])
    assert [c["action"] for c in history] == ["delete", "update", "update", "create"]
    assert history[2]["changes"] == {"name": ["East", "Eastern"]}


def test_it_adds_and_removes_team_members(api: Api) -> None:
    cast = api.cast
    admin = api("root")
    south = f"/teams/{cast.south.id}"

    response = admin.put(f"{south}/members/{cast.alice.id}", json={"is_lead": True})
    assert response.status_code == 200, response.text
    members = admin.get(south).json()["members"]
    assert members == [
        {"user_id": cast.alice.id, "full_name": "Alice", "is_lead": True},
        {"user_id": cast.charlie.id, "full_name": "Charlie", "is_lead": False},
    ]
    assert {"id": cast.south.id, "name": "South", "is_lead": True} in admin.get(
        f"/users/{cast.alice.id}"
    ).json()["teams"]

    response = admin.put(f"{south}/members/{cast.alice.id}", json={})
    assert response.status_code == 200, response.text
    assert admin.get(south).json()["members"][0]["is_lead"] is False

    assert admin.delete(f"{south}/members/{cast.alice.id}").status_code == 204
    assert [m["user_id"] for m in admin.get(south).json()["members"]] == [cast.charlie.id]
    assert list(fields_of(admin.delete(f"{south}/members/{cast.alice.id}"))) == ["user_id"]
    error_of(admin.put(f"{south}/members/999999", json={}), 404)
    error_of(admin.put(f"/teams/999999/members/{cast.alice.id}", json={}), 404)
    changes = [c["changes"] for c in history_of(api, "teams", cast.south.id)]
    removed, cleared, added = changes[:3]
    assert added == {"member": [None, "Alice ★"]}
    assert list(cleared.values()) == [[True, False]]
    assert removed == {"member": ["Alice", None]}


def test_it_answers_a_new_member_once(api: Api) -> None:
    """set_member() used to add the new member to the team's list twice."""
    cast = api.cast
    response = api("root").put(f"/teams/{cast.south.id}/members/{cast.alice.id}", json={})

    assert [m["user_id"] for m in response.json()["members"]] == [cast.alice.id, cast.charlie.id]
