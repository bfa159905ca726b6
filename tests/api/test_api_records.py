"""Announcements, their shares and their history through the API: the access rules
with the cast (alice owns, bob is shared with, charlie has no access, dave manages
alice's team North, root administers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.api.helpers import Api, error_of, fields_of, walk

if TYPE_CHECKING:
    pass


def create(api: Api, who: str = "alice", **values: Any) -> dict[str, Any]:
    body = {"title": "Quarterly plan", "body": "Numbers first.", **values}
    response = api(who).post("/announcements", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def share(api: Api, record_id: int, who: str = "alice", **grant: Any) -> list[Any]:
    response = api(who).post(f"/records/announcements/{record_id}/shares", json=grant)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def listed(api: Api, who: str, **params: Any) -> list[int]:
    response = api(who).get("/announcements", params=params)
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()["items"]]


def history(api: Api, who: str, record_id: int) -> list[dict[str, Any]]:
    response = api(who).get(
        "/history", params={"record_type": "announcements", "record_id": record_id}
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_it_lets_the_owner_write_and_read_a_draft(api: Api) -> None:
    alice = api.cast.alice
    draft = create(api)

    assert draft["status"] == "draft"
    assert draft["published_at"] is None
    assert (draft["owner_id"], draft["owner_name"]) == (alice.id, "Alice")
    assert (draft["audience"], draft["team_id"], draft["pinned"]) == ("company", None, False)
    assert api("alice").get(f"/announcements/{draft['id']}").json() == draft
    assert listed(api, "alice") == [draft["id"]]


def test_it_hides_a_draft_from_colleagues_it_is_not_shared_with(api: Api) -> None:
    draft = create(api)
    path = f"/announcements/{draft['id']}"
    missing = api("bob").get("/announcements/999999").json()

    for who in ("bob", "charlie"):
        # The same answer as for an announcement that does not exist.
        assert api(who).get(path).json() == missing
        error_of(api(who).get(path), 404)
        error_of(api(who).patch(path, json={"title": "Mine now"}), 404)
        error_of(api(who).delete(path), 404)
        error_of(api(who).post(f"{path}/publish"), 404)
        error_of(api(who).get(f"/records/announcements/{draft['id']}/shares"), 404)
        error_of(api(who).post(f"/records/announcements/{draft['id']}/shares", json={}), 404)
        assert listed(api, who) == []
    assert api("alice").get(path).json() == draft


def test_it_lets_a_read_share_read_the_draft_but_not_change_it(api: Api) -> None:
    cast = api.cast
    draft = create(api)
    path = f"/announcements/{draft['id']}"

    shares = share(api, draft["id"], user_id=cast.bob.id)

    assert shares == [
        {
            "id": shares[0]["id"],
            "user_id": cast.bob.id,
            "team_id": None,
            "grantee": "Bob",
            "permission": "read",
        }
    ]
    assert api("bob").get(path).json() == draft
    assert listed(api, "bob") == [draft["id"]]
    assert api("bob").get(f"/records/announcements/{draft['id']}/shares").json()["items"] == (
        shares
    )
    error_of(api("bob").patch(path, json={"title": "Bob's plan"}), 403)
    error_of(api("bob").post(f"{path}/publish"), 403)
    error_of(api("bob").delete(path), 403)
    # Reading is not enough to share further.
    response = api("bob").post(
        f"/records/announcements/{draft['id']}/shares", json={"user_id": cast.charlie.id}
    )
    error_of(response, 403)
    error_of(api("charlie").get(path), 404)
    assert api("alice").get(path).json()["title"] == "Quarterly plan"


def test_it_lets_a_write_share_change_the_draft_but_not_delete_it(api: Api) -> None:
    cast = api.cast
    draft = create(api)
    path = f"/announcements/{draft['id']}"
    share(api, draft["id"], user_id=cast.bob.id, permission="read")

    [grant] = share(api, draft["id"], user_id=cast.bob.id, permission="write")

    assert grant["permission"] == "write"
    response = api("bob").patch(path, json={"title": "Quarterly plan, revised"})
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Quarterly plan, revised"
    assert response.json()["body"] == "Numbers first."
    assert response.json()["owner_id"] == cast.alice.id
    error_of(api("bob").delete(path), 403)
    assert api("alice").get(path).json()["title"] == "Quarterly plan, revised"
    error_of(api("charlie").get(path), 404)
    assert listed(api, "charlie") == []


def test_it_shows_a_draft_to_the_manager_of_the_owners_team_only(api: Api) -> None:
    north_draft = create(api, "alice")
    south_draft = create(api, "charlie", title="South news")

    assert listed(api, "dave") == [north_draft["id"]]
    assert api("dave").get(f"/announcements/{north_draft['id']}").status_code == 200
    error_of(api("dave").get(f"/announcements/{south_draft['id']}"), 404)
    assert listed(api, "charlie") == [south_draft["id"]]
    assert listed(api, "root") == [south_draft["id"], north_draft["id"]]


def test_it_publishes_to_the_company_but_only_the_owner_may_change_it(api: Api) -> None:
    draft = create(api)
    path = f"/announcements/{draft['id']}"

    response = api("alice").post(f"{path}/publish")

    assert response.status_code == 200, response.text
    published = response.json()
    assert published["status"] == "published"
    assert published["published_at"] is not None
    assert api("charlie").get(path).json() == published
    assert listed(api, "charlie") == [draft["id"]]
    assert listed(api, "charlie", status="draft") == []
    error_of(api("charlie").patch(path, json={"title": "Charlie's plan"}), 403)
    error_of(api("charlie").delete(path), 403)
    error_of(api("charlie").post(f"{path}/withdraw"), 403)
    error_of(api("charlie").post(f"/records/announcements/{draft['id']}/shares", json={}), 403)
    assert api("alice").get(path).json()["title"] == "Quarterly plan"

    withdrawn = api("alice").post(f"{path}/withdraw").json()
    assert (withdrawn["status"], withdrawn["published_at"]) == ("draft", None)
    error_of(api("charlie").get(path), 404)


def test_it_publishes_to_a_team_only_to_its_members(api: Api) -> None:
    north = api.cast.north.id
    notice = create(api, audience="team", team_id=north)
    api("alice").post(f"/announcements/{notice['id']}/publish")

    assert listed(api, "bob") == [notice["id"]]
    assert listed(api, "charlie") == []
    response = api("charlie").post(
        "/announcements", json={"title": "For North", "audience": "team", "team_id": north}
    )
    assert list(fields_of(response)) == ["team_id"]


def test_it_records_every_change_with_old_and_new_values_and_who_made_it(api: Api) -> None:
    cast = api.cast
    draft = create(api)
    path = f"/announcements/{draft['id']}"
    share(api, draft["id"], user_id=cast.bob.id)
    share(api, draft["id"], user_id=cast.bob.id, permission="write")
    api("bob").patch(path, json={"title": "Quarterly plan, revised", "pinned": True})
    api("alice").post(f"{path}/publish")

    published, edited, upgraded, shared, created = history(api, "alice", draft["id"])

    everything = [published, edited, upgraded, shared, created]
    assert {c["channel"] for c in everything} == {"api"}
    assert {(c["record_type"], c["record_id"]) for c in everything} == {
        ("announcements", draft["id"])
    }
    assert created["action"] == "create"
    assert (created["actor_id"], created["actor_name"]) == (cast.alice.id, "Alice")
    assert created["changes"]["title"] == [None, "Quarterly plan"]
    assert created["changes"]["owner_id"] == [None, cast.alice.id]
    assert created["changes"]["status"] == [None, "draft"]
    assert shared["actor_id"] == cast.alice.id
    assert list(shared["changes"].values()) == [[None, "Bob: read"]]
    assert list(upgraded["changes"].values()) == [["read", "write"]]
    assert (edited["actor_id"], edited["actor_name"]) == (cast.bob.id, "Bob")
    assert edited["action"] == "update"
    assert edited["changes"]["title"] == ["Quarterly plan", "Quarterly plan, revised"]
    assert edited["changes"]["pinned"] == [False, True]
    assert "body" not in edited["changes"]
    assert published["actor_id"] == cast.alice.id
    assert published["changes"]["status"] == ["draft", "published"]
    assert published["changes"]["published_at"][0] is None
    # Bob, who may edit it, sees the same history.
    assert history(api, "bob", draft["id"]) == everything


def test_it_hides_the_history_of_a_draft_from_who_cannot_see_the_draft(api: Api) -> None:
    cast = api.cast
    draft = create(api)
    api("alice").patch(f"/announcements/{draft['id']}", json={"body": "Numbers later."})

    assert history(api, "charlie", draft["id"]) == []
    assert history(api, "bob", draft["id"]) == []
    unfiltered = api("charlie").get("/history", params={"record_type": "announcements"})
    assert unfiltered.json()["items"] == []
    assert len(history(api, "dave", draft["id"])) == 2

    share(api, draft["id"], user_id=cast.bob.id)
    assert len(history(api, "bob", draft["id"])) == 3
    assert history(api, "charlie", draft["id"]) == []

    api("alice").post(f"/announcements/{draft['id']}/publish")
    # Reading the published announcement does not open its history (the drafts, who it
    # was shared with) to charlie: that is for those who work on it.
    assert api("charlie").get(f"/announcements/{draft['id']}").status_code == 200
    assert history(api, "charlie", draft["id"]) == []


def test_it_keeps_the_history_of_a_deleted_draft_for_administrators(api: Api) -> None:
    draft = create(api)
    path = f"/announcements/{draft['id']}"

    response = api("alice").delete(path)

    assert response.status_code == 204
    error_of(api("alice").get(path), 404)
    assert history(api, "alice", draft["id"]) == []
    deleted = history(api, "root", draft["id"])[0]
    assert deleted["action"] == "delete"
    assert deleted["actor_id"] == api.cast.alice.id
    assert deleted["changes"]["title"] == ["Quarterly plan", None]


def test_it_shares_with_a_whole_team_and_stops_sharing(api: Api) -> None:
    cast = api.cast
    draft = create(api)
    path = f"/announcements/{draft['id']}"
    shares_path = f"/records/announcements/{draft['id']}/shares"

    [grant] = share(api, draft["id"], team_id=cast.south.id)

    assert (grant["team_id"], grant["user_id"], grant["grantee"]) == (cast.south.id, None, "South")
    assert api("charlie").get(path).status_code == 200
    error_of(api("charlie").delete(f"{shares_path}/{grant['id']}"), 403)

    response = api("alice").delete(f"{shares_path}/{grant['id']}")

    assert response.status_code == 204
    error_of(api("charlie").get(path), 404)
    assert api("alice").get(shares_path).json() == {"items": []}
    assert list(fields_of(api("alice").delete(f"{shares_path}/{grant['id']}"))) == ["share"]


@pytest.mark.parametrize(
    ("grant", "field"),
    [
        ({}, "grantee"),
        ({"user_id": 999999}, "grantee"),
        ({"team_id": 999999}, "grantee"),
        ({"user_id": "{bob}", "team_id": "{north}"}, "grantee"),
        ({"user_id": "{bob}", "permission": "admin"}, "permission"),
        ({"user_id": "{bob}", "until": "tomorrow"}, "until"),
    ],
)
def test_it_refuses_a_share_that_names_no_one_clearly(
    api: Api, grant: dict[str, Any], field: str
) -> None:
    ids = {"{bob}": api.cast.bob.id, "{north}": api.cast.north.id}
    grant = {key: ids.get(value, value) for key, value in grant.items()}
    draft = create(api)

    response = api("alice").post(f"/records/announcements/{draft['id']}/shares", json=grant)

    assert list(fields_of(response)) == [field]
    assert api("alice").get(f"/records/announcements/{draft['id']}/shares").json()["items"] == []


def test_it_knows_no_other_kind_of_record_to_share(api: Api) -> None:
    error_of(api("root").get("/records/users/1/shares"), 404)
    error_of(api("root").post("/records/nothing/1/shares", json={"user_id": 1}), 404)


def test_it_changes_only_the_fields_a_patch_names(api: Api) -> None:
    draft = create(api, team_id=api.cast.north.id, pinned=True, expires_on="2099-12-31")
    path = f"/announcements/{draft['id']}"

    response = api("alice").patch(path, json={"body": "Numbers later."})

    assert response.status_code == 200, response.text
    changed = response.json()
    assert changed["body"] == "Numbers later."
    unchanged = ("title", "audience", "team_id", "pinned", "expires_on", "status", "created_at")
    assert {k: changed[k] for k in unchanged} == {k: draft[k] for k in unchanged}
    cleared = api("alice").patch(path, json={"expires_on": None, "team_id": None}).json()
    assert (cleared["expires_on"], cleared["team_id"]) == (None, None)


def test_it_addresses_the_team_an_announcement_already_names(api: Api) -> None:
    north = api.cast.north.id
    draft = create(api, team_id=north)

    response = api("alice").patch(f"/announcements/{draft['id']}", json={"audience": "team"})

    assert response.status_code == 200, response.text
    assert (response.json()["audience"], response.json()["team_id"]) == ("team", north)
    response = api("alice").patch(f"/announcements/{draft['id']}", json={"team_id": None})
    assert list(fields_of(response)) == [""]  # a team audience needs a team


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"audience": "everyone"}, "audience"),
        ({"pinned": "sometimes"}, "pinned"),
        ({"expires_on": "31.02.2099"}, "expires_on"),
        ({"owner_id": 2}, "owner_id"),
        ({"status": "published"}, "status"),
    ],
)
def test_it_refuses_an_invalid_change_and_keeps_the_announcement(
    api: Api, body: dict[str, Any], field: str
) -> None:
    draft = create(api)
    path = f"/announcements/{draft['id']}"

    response = api("alice").patch(path, json={"body": "Changed, or not?", **body})

    assert list(fields_of(response)) == [field]
    assert api("alice").get(path).json() == draft
    assert [c["action"] for c in history(api, "alice", draft["id"])] == ["create"]


def test_it_refuses_an_expiry_date_in_the_past(api: Api) -> None:
    response = api("alice").post(
        "/announcements", json={"title": "Old", "expires_on": "2001-01-01"}
    )
    assert list(fields_of(response)) == ["expires_on"]
    assert listed(api, "alice") == []


def test_it_refuses_to_move_the_expiry_date_into_the_past(api: Api) -> None:
    draft = create(api, expires_on="2099-12-31")

    response = api("alice").patch(
        f"/announcements/{draft['id']}", json={"expires_on": "2001-01-01"}
    )

    assert list(fields_of(response)) == ["expires_on"]


def test_it_searches_filters_and_pages_announcements(api: Api) -> None:
    plan = create(api, title="Quarterly plan")
    party = create(api, title="Summer party")
    api("alice").post(f"/announcements/{party['id']}/publish")
    theirs = create(api, "charlie", title="South plan")
    api("charlie").post(f"/announcements/{theirs['id']}/publish")
    ids = plan["id"], party["id"], theirs["id"]

    assert listed(api, "alice") == [theirs["id"], party["id"], plan["id"]]
    assert listed(api, "alice", q="PLAN") == [theirs["id"], plan["id"]]
    assert listed(api, "alice", q="%") == []
    assert listed(api, "alice", status="published") == [theirs["id"], party["id"]]
    assert listed(api, "alice", mine="true") == [party["id"], plan["id"]]
    assert list(fields_of(api("alice").get("/announcements", params={"status": "gone"}))) == [
        "status"
    ]
    pages = walk(api("alice"), "/announcements", limit=1)
    assert [[row["id"] for row in page] for page in pages] == [[i] for i in reversed(ids)]


def test_a_write_share_does_not_let_its_holder_change_whom_the_record_is_shared_with(
    api: Api,
) -> None:
    """Changing the shares takes the owner, an administrator or the right to share:
    bob, who may write, neither re-shares nor removes alice's shares (he once could)."""
    cast = api.cast
    draft = create(api)
    [bobs] = share(api, draft["id"], user_id=cast.bob.id, permission="write")
    shares_path = f"/records/announcements/{draft['id']}/shares"
    refused = api("bob").post(shares_path, json={"user_id": cast.charlie.id, "permission": "write"})
    assert "owner" in error_of(refused, 403)["message"]
    error_of(api("bob").delete(f"{shares_path}/{bobs['id']}"), 403)
    assert [s["user_id"] for s in api("bob").get(shares_path).json()["items"]] == [cast.bob.id]
    error_of(api("charlie").get(f"/announcements/{draft['id']}"), 404)
    # The owner and an administrator may.
    share(api, draft["id"], "root", user_id=cast.charlie.id)
    assert api("alice").delete(f"{shares_path}/{bobs['id']}").status_code == 204
