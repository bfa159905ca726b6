"""The campaigns API through the real server, checked against the OpenAPI document."""

from __future__ import annotations

import time

import pytest

from groupware.access.policy import SYSTEM
from tests.api.helpers import Api
from tests.api.test_openapi import Contract
from tests.crm.conftest import Sales
from tests.factories import make_partner


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


def test_targets_and_a_rollout_through_the_api(api: Api, contract: Contract, sales: Sales) -> None:
    with api.database.transaction(actor_id=None, channel="cli") as session:
        konzum = make_partner(
            session, SYSTEM, "Konzum d.d.", postal_code="10000", oib="69435151530"
        )
        split = make_partner(session, SYSTEM, "Solana Pag d.d.", city="Split", postal_code="21000")
        konzum_id, split_id = konzum.id, split.id
    kind = {"name": "Katalog", "phases": [{"name": "Slanje", "planned_days": 7}]}
    type_id = contract.call(api("root"), "POST", "/campaign-types", json=kind, expect=201)["id"]
    sale = {"name": "Prodaja", "direction": "sale", "phases": [{"name": "Ponuda"}]}
    deal_type = contract.call(api("root"), "POST", "/deal-types", json=sale, expect=201)["id"]
    body = {"name": "Katalog 2027", "type_id": type_id, "starts_on": "2026-12-01"}
    campaign_id = contract.call(api("alice"), "POST", "/campaigns", json=body, expect=201)["id"]
    one = {"campaign_id": campaign_id}

    counted = contract.call(api("alice"), "POST", "/campaigns/{campaign_id}/targets/count",
                            json={"postal_from": "10000"}, expect=200, **one)  # fmt: skip
    assert counted == {"count": 1}  # Split is out of alice's sight
    csv = {"text": "OIB\n69435151530\n12345678903\n"}
    added = contract.call(api("alice"), "POST", "/campaigns/{campaign_id}/targets/csv",
                          json=csv, expect=200, **one)  # fmt: skip
    assert (added["added"], added["unmatched"]) == (1, 1)
    assert added["problems"][0]["row"] == 3
    refused = api("alice").post(
        f"/campaigns/{campaign_id}/targets", json={"partner_ids": [split_id]}
    )
    assert refused.status_code == 422 and "partner_ids" in refused.json()["error"]["fields"]
    listed = contract.call(
        api("alice"), "GET", "/campaigns/{campaign_id}/targets", expect=200, **one
    )
    assert [t["partner"]["id"] for t in listed["items"]] == [konzum_id]
    assert api("charlie").get(f"/campaigns/{campaign_id}/targets").status_code == 404

    plan = {"deal_type_id": deal_type, "task_title": "Poslati katalog"}
    seen = contract.call(api("alice"), "POST", "/campaigns/{campaign_id}/rollout/preview",
                         json=plan, expect=200, **one)  # fmt: skip
    assert (seen["deals"], seen["tasks"], seen["pending"]) == (1, 1, 1)
    no_type = api("alice").post(f"/campaigns/{campaign_id}/rollouts", json={"task_title": "x"})
    assert no_type.status_code == 422 and "deal_type_id" in no_type.json()["error"]["fields"]
    started = contract.call(api("alice"), "POST", "/campaigns/{campaign_id}/rollouts",
                            json=plan, expect=202, **one)  # fmt: skip
    deadline = time.monotonic() + 30
    while started["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
        path = "/campaigns/{campaign_id}/rollouts/{rollout_id}"
        started = contract.call(api("alice"), "GET", path, rollout_id=started["id"], expect=200,
                                **one)  # fmt: skip
    assert (started["status"], started["deals_made"], started["tasks_made"]) == ("done", 1, 1)
    runs = contract.call(
        api("alice"), "GET", "/campaigns/{campaign_id}/rollouts", expect=200, **one
    )
    assert [r["id"] for r in runs["items"]] == [started["id"]]
    target = contract.call(api("alice"), "GET", "/campaigns/{campaign_id}/targets", expect=200,
                           **one)["items"][0]  # fmt: skip
    assert target["deal"]["name"] == "Katalog 2027" and target["task_id"] is not None
    status = {"target_ids": [target["id"]], "status": "interested"}
    changed = contract.call(api("alice"), "POST", "/campaigns/{campaign_id}/targets/status",
                            json=status, expect=200, **one)  # fmt: skip
    assert changed == {"changed": 1}
