"""The tasks and free/busy API through the real server, checked against OpenAPI."""

from __future__ import annotations

import pytest

from groupware.accounts.models import User
from tests.api.helpers import Api, fields_of
from tests.api.test_openapi import Contract
from tests.caldav.test_caldav import client
from tests.conftest import LiveServer


@pytest.fixture
def contract(api: Api) -> Contract:
    response = api.anonymous.get("/openapi.json")
    assert response.status_code == 200
    return Contract(response.json())


def test_a_task_is_given_answered_handed_on_and_completed_through_the_api(
    api: Api, contract: Contract
) -> None:
    cast = api.cast
    body = {"title": "Ponuda", "assignee_id": cast.alice.id, "due_at": "2026-12-05T16:00:00+01:00"}
    task = contract.call(api("dave"), "POST", "/tasks", json=body, expect=201)
    assert (task["owner"]["id"], task["response"]) == (cast.alice.id, "pending")
    assert task["due_at"].startswith("2026-12-05T15:00")
    one = {"task_id": task["id"]}
    assert contract.call(api("charlie"), "GET", "/tasks/{task_id}", **one, expect=404)
    refused = api("alice").post(f"/tasks/{task['id']}/answer", json={"accept": False})
    assert "reason" in fields_of(refused)
    contract.call(
        api("alice"), "POST", "/tasks/{task_id}/answer", **one, json={"accept": True}, expect=200
    )
    handed = contract.call(
        api("alice"), "POST", "/tasks/{task_id}/delegate", **one,
        json={"assignee_id": cast.bob.id, "note": "Ti"}, expect=200,
    )  # fmt: skip
    assert [d["response"] for d in handed["delegations"]] == ["accepted", "pending"]
    mine = contract.call(api("bob"), "GET", "/tasks", expect=200)
    assert [t["id"] for t in mine["items"]] == [task["id"]]
    contract.call(
        api("bob"), "POST", "/tasks/{task_id}/answer", **one, json={"accept": True}, expect=200
    )
    done = contract.call(
        api("bob"), "POST", "/tasks/{task_id}/progress", **one, json={"progress": 100}, expect=200
    )
    assert done["status"] == "done" and done["completed_at"]
    closed = contract.call(
        api("dave"), "GET", "/tasks", params={"view": "delegated", "closed": "true"}, expect=200
    )
    assert [t["id"] for t in closed["items"]] == [task["id"]]


def test_free_busy_through_the_api(api: Api, contract: Contract) -> None:
    cast = api.cast
    body = {
        "title": "Obilazak",
        "starts_at": "2026-12-10T10:00:00+01:00",
        "due_at": "2026-12-10T12:00:00+01:00",
    }
    contract.call(api("alice"), "POST", "/tasks", json=body, expect=201)
    params = {
        "user_ids": f"{cast.alice.id},{cast.bob.id}",
        "start": "2026-12-10T00:00:00Z",
        "end": "2026-12-11T00:00:00Z",
    }
    mine = contract.call(api("alice"), "GET", "/freebusy", params=params, expect=200)
    assert [(b["user_id"], b["title"]) for b in mine["busy"]] == [(cast.alice.id, "Obilazak")]
    theirs = contract.call(api("bob"), "GET", "/freebusy", params=params, expect=200)
    assert [(b["user_id"], b["title"]) for b in theirs["busy"]] == [(cast.alice.id, None)]
    too_long = api("bob").get("/freebusy", params={**params, "end": "2027-06-01T00:00:00Z"})
    assert "end" in fields_of(too_long)


def test_a_task_between_people_with_quotes_in_their_names_works_and_reaches_the_client(
    api: Api, contract: Contract, live: LiveServer
) -> None:
    """A double quote may not stand in an iCalendar parameter (the CN of the VTODO's
    organizer and attendee): written as RFC 6868 says, a client reads the names back."""
    names = {"alice": 'Tomislav "Tomo" Novak', "dave": 'Ana "^_^" Horvat'}
    with api.database.transaction(actor_id=None, channel="cli") as session:
        for username, full_name in names.items():
            user = session.get(User, api.user(username).id)
            assert user is not None
            user.full_name = full_name
    body = {"title": "Ponuda", "assignee_id": api.cast.alice.id}
    task = contract.call(api("dave"), "POST", "/tasks", json=body, expect=201)
    one = {"task_id": task["id"]}
    contract.call(api("alice"), "GET", "/tasks/{task_id}", **one, expect=200)
    edit = {"title": "Ponuda za Konzum", "priority": "high"}
    contract.call(api("dave"), "PUT", "/tasks/{task_id}", **one, json=edit, expect=200)
    with client(live, "alice") as dav:
        crm = next(c for c in dav.principal().calendars() if c.get_display_name() == "CRM tasks")
        (todo,) = crm.todos()
    component = todo.icalendar_component
    assert component["summary"] == "Ponuda za Konzum"
    assert component["attendee"].params["CN"] == names["alice"]
    assert component["organizer"].params["CN"] == names["dave"]
