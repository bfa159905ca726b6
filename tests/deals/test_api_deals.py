"""The deals API through the real server, checked against the OpenAPI document."""

from __future__ import annotations

import pytest

from groupware.access.policy import SYSTEM
from groupware.db import Database
from tests.api.helpers import Api
from tests.api.test_openapi import Contract
from tests.crm.conftest import Sales
from tests.factories import make_partner


@pytest.fixture
def contract(api: Api) -> Contract:
    response = api.anonymous.get("/openapi.json")
    assert response.status_code == 200
    return Contract(response.json())


def test_a_rep_starts_moves_and_closes_a_deal_through_the_api(
    api: Api, sales: Sales, contract: Contract, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = make_partner(session, SYSTEM, "Konzum d.d.", postal_code="10000").id
    sale_type = {
        "name": "Retail sale",
        "direction": "sale",
        "phases": [{"name": "Qualify", "planned_days": 5}, {"name": "Offer", "planned_days": 10}],
    }
    refused = api("alice").post("/deal-types", json=sale_type)
    assert refused.status_code == 403
    made_type = contract.call(api("root"), "POST", "/deal-types", json=sale_type, expect=201)
    body = {
        "title": "Blagajne",
        "partner_id": partner,
        "type_id": made_type["id"],
        "started_on": "2026-03-02",
        "amount": "1200.00",
        "currency": "eur",
    }
    deal = contract.call(api("alice"), "POST", "/deals", json=body, expect=201)
    assert [(p["name"], p["state"], p["planned_end"]) for p in deal["phases"]] == [
        ("Qualify", "current", "2026-03-07"),
        ("Offer", "planned", "2026-03-17"),
    ]
    assert deal["currency"] == "EUR" and deal["owner"]["id"] == api.cast.alice.id
    one = {"deal_id": deal["id"]}
    assert contract.call(api("charlie"), "GET", "/deals/{deal_id}", **one, expect=404)
    offer = deal["phases"][1]["id"]
    moved = contract.call(
        api("bob"),  # his territory
        "POST",
        "/deals/{deal_id}/move",
        **one,
        json={"phase_id": offer, "on": "2026-03-06"},
        expect=200,
    )
    assert [p["state"] for p in moved["phases"]] == ["done", "current"]
    lost = api("alice").post(f"/deals/{deal['id']}/close", json={"status": "lost"})
    assert lost.status_code == 422
    assert lost.json()["error"]["fields"] == {"reason": "Say why the deal was lost."}
    closed = contract.call(
        api("alice"),
        "POST",
        "/deals/{deal_id}/close",
        **one,
        json={"status": "lost", "reason": "Price", "on": "2026-03-10"},
        expect=200,
    )
    assert (closed["status"], closed["probability"], closed["lost_reason"]) == ("lost", 0, "Price")
    listed = contract.call(api("bob"), "GET", "/deals", params={"status": "lost"}, expect=200)
    assert [d["id"] for d in listed["items"]] == [deal["id"]]
    assert contract.call(api("charlie"), "GET", "/deals", expect=200)["items"] == []
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    rate = contract.call(api("bob"), "GET", "/reports/win-rate", params=period, expect=200)
    assert rate["items"] == [{"key": "Alice", "won": 0, "lost": 1, "rate": 0.0}]
    for path in ("/reports/forecast", "/reports/pipeline", "/reports/cycle-time"):
        got = contract.call(api("charlie"), "GET", path, params=period, expect=200)
        assert got["items"] == [], path
    overdue = contract.call(api("alice"), "GET", "/reports/overdue", expect=200)
    assert overdue["items"] == []
    kinds = contract.call(api("alice"), "GET", "/deal-types", expect=200)
    assert [t["name"] for t in kinds["items"]] == ["Retail sale"]
    bad = api("alice").get("/reports/forecast", params={"from": "2026-05-01", "to": "2026-01-01"})
    assert bad.status_code == 422


def test_lines_adding_up_to_more_than_an_amount_holds_are_refused(
    api: Api, sales: Sales, contract: Contract, database: Database
) -> None:
    """A deal's amount is the sum of its lines: one past the database's numeric(14, 2)
    was a 500 on PostgreSQL ("numeric field overflow")."""
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = make_partner(session, SYSTEM, "Konzum d.d.", postal_code="10000").id
    kind = {"name": "Sale", "direction": "sale", "phases": [{"name": "Offer"}]}
    made_type = contract.call(api("root"), "POST", "/deal-types", json=kind, expect=201)
    most = {"description": "Polica", "quantity": "1", "unit_price": "999999999999.99"}
    body = {"title": "Veliki", "partner_id": partner, "type_id": made_type["id"]}
    for lines in ([{**most, "quantity": "999999999.999"}], [most, {**most, "unit_price": "0.01"}]):
        refused = contract.call(
            api("alice"), "POST", "/deals", json={**body, "lines": lines}, expect=422
        )
        assert list(refused["error"]["fields"]) == ["lines"]
    deal = contract.call(api("alice"), "POST", "/deals", json={**body, "lines": [most]}, expect=201)
    assert deal["amount"] == "999999999999.99"
