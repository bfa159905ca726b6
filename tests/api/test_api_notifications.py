"""``/notifications``: notifications posted by the service (as a job would), read
through the API by their recipient only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from groupware.db import Database
from tests.api.helpers import Api, error_of, notify_user, walk

if TYPE_CHECKING:
    pass


def titles(api: Api, who: str, **params: Any) -> list[str]:
    response = api(who).get("/notifications", params=params)
    assert response.status_code == 200, response.text
    return [row["title"] for row in response.json()["items"]]


def test_it_lists_my_notifications_newest_first(api: Api, database: Database) -> None:
    cast = api.cast
    first = notify_user(database, cast.alice, "Welcome")
    notify_user(
        database,
        cast.alice,
        "Bob shared a plan",
        body="Have a look.",
        kind="mention",
        link="/announcements/7",
        record_type="announcements",
        record_id=7,
    )
    notify_user(database, cast.bob, "For Bob only")

    response = api("alice").get("/notifications")

    assert response.status_code == 200
    newest, oldest = response.json()["items"]
    assert response.json()["next_cursor"] is None
    assert oldest["id"] == first
    assert {k: newest[k] for k in newest if k not in ("id", "created_at")} == {
        "kind": "mention",
        "title": "Bob shared a plan",
        "body": "Have a look.",
        "link": "/announcements/7",
        "record_type": "announcements",
        "record_id": 7,
        "read_at": None,
    }
    assert titles(api, "bob") == ["For Bob only"]
    assert titles(api, "charlie") == []


def test_it_marks_one_notification_read(api: Api, database: Database) -> None:
    cast = api.cast
    welcome = notify_user(database, cast.alice, "Welcome")
    notify_user(database, cast.alice, "Reminder")

    response = api("alice").post(f"/notifications/{welcome}/read")

    assert response.status_code == 200, response.text
    read_at = response.json()["read_at"]
    assert read_at is not None
    assert titles(api, "alice", unread="true") == ["Reminder"]
    assert titles(api, "alice") == ["Reminder", "Welcome"]
    # Reading it again changes nothing.
    assert api("alice").post(f"/notifications/{welcome}/read").json()["read_at"] == read_at


def test_it_marks_all_my_notifications_read(api: Api, database: Database) -> None:
    cast = api.cast
    for title in ("One", "Two", "Three"):
        notify_user(database, cast.alice, title)
    bobs = notify_user(database, cast.bob, "Bob's")

    response = api("alice").post("/notifications/read-all")

    assert response.status_code == 200, response.text
    assert response.json() == {"marked": 3}
    assert titles(api, "alice", unread="true") == []
    assert api("alice").post("/notifications/read-all").json() == {"marked": 0}
    bob = api("bob").get("/notifications", params={"unread": "true"}).json()["items"]
    assert [(row["id"], row["read_at"]) for row in bob] == [(bobs, None)]


def test_it_does_not_show_or_touch_another_users_notification(api: Api, database: Database) -> None:
    bobs = notify_user(database, api.cast.bob, "Bob's")

    error_of(api("alice").post(f"/notifications/{bobs}/read"), 404)
    error_of(api("alice").post("/notifications/999999/read"), 404)

    assert api("bob").get("/notifications").json()["items"][0]["read_at"] is None


def test_it_pages_notifications_with_a_cursor(api: Api, database: Database) -> None:
    for i in range(5):
        notify_user(database, api.cast.alice, f"Notice {i}")

    pages = walk(api("alice"), "/notifications", limit=2)

    assert [[row["title"] for row in page] for page in pages] == [
        ["Notice 4", "Notice 3"],
        ["Notice 2", "Notice 1"],
        ["Notice 0"],
    ]
    api("alice").post("/notifications/read-all")
    notify_user(database, api.cast.alice, "Fresh")
    assert walk(api("alice"), "/notifications", limit=2, unread="true") == [
        [api("alice").get("/notifications", params={"limit": 1}).json()["items"][0]]
    ]
