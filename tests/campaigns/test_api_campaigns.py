"""The campaigns API through the real server, checked against the OpenAPI document."""

from __future__ import annotations

import pytest

from tests.api.helpers import Api
from tests.api.test_openapi import Contract


@pytest.fixture
def contract(api: Api) -> Contract:
    response = api.anonymous.get("/openapi.json")
    assert response.status_code == 200
    return Contract(response.json())


def test_a_campaign_is_started_moved_and_ended_through_the_api(
    api: Api, contract: Contract
) -> None:
    kind = {"name": "Sajam", "phases": [{"name": "Priprema", "planned_days": 14},
                                        {"name": "Sajam", "planned_days": 3}]}  # fmt: skip
    made_type = contract.call(api("root"), "POST", "/campaign-types", json=kind, expect=201)
    body = {
        "name": "Sajam Split",
        "type_id": made_type["id"],
        "starts_on": "2026-11-02",
        "budget": "2500.00",
        "expected_revenue": "9000.00",
        "expected_responses": 30,
    }
    assert (
        api("alice").post("/campaigns", json={**body, "ends_on": "2026-11-01"}).status_code == 422
    )
    made = contract.call(api("alice"), "POST", "/campaigns", json=body, expect=201)
    assert [p["name"] for p in made["phases"]] == ["Priprema", "Sajam"]
    assert made["phases"][0]["state"] == "current" and made["owner"]["name"] == "Alice"
    campaign_id = made["id"]

    assert api("charlie").get(f"/campaigns/{campaign_id}").status_code == 404
    listed = contract.call(api("alice"), "GET", "/campaigns", expect=200)
    assert [c["id"] for c in listed["items"]] == [campaign_id]
    assert contract.call(api("charlie"), "GET", "/campaigns", expect=200)["items"] == []

    moved = contract.call(
        api("alice"), "POST", "/campaigns/{campaign_id}/move", campaign_id=campaign_id,
        json={"phase_id": made["phases"][1]["id"], "on": "2026-11-10"}, expect=200,
    )  # fmt: skip
    assert moved["status"] == "active" and moved["phase"]["name"] == "Sajam"
    changed = contract.call(
        api("alice"), "PUT", "/campaigns/{campaign_id}", campaign_id=campaign_id,
        json={**body, "status": "active", "name": "Sajam Split 2026"}, expect=200,
    )  # fmt: skip
    assert changed["name"] == "Sajam Split 2026"
    ended = contract.call(
        api("alice"), "POST", "/campaigns/{campaign_id}/end", campaign_id=campaign_id,
        json={"status": "cancelled", "on": "2026-11-20"}, expect=200,
    )  # fmt: skip
    assert ended["status"] == "cancelled" and ended["phase_due"] is None
    again = api("alice").post(f"/campaigns/{campaign_id}/end", json={"status": "finished"})
    assert again.status_code == 422 and "status" in again.json()["error"]["fields"]
