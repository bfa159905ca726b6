"""Campaign types in the process-type editor the deal types use: the same pages and
API operations, each kind with its own words, its own names and its own list."""

from __future__ import annotations

from sqlalchemy import select

from groupware.db import Database
from groupware.phases.models import ProcessType
from tests.api.helpers import Api
from tests.conftest import LoginAs

THREE_PHASES = {
    "name": "Sajam",
    "is_active": "1",
    "phase_name": ["Priprema", "Sajam", "Praćenje", ""],
    "phase_days": ["14", "3", "10", ""],
}


def _types(database: Database, process: str) -> dict[str, list[tuple[str, int]]]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        rows = session.scalars(select(ProcessType).where(ProcessType.process == process))
        return {row.name: [(p.name, p.planned_days) for p in row.phases] for row in rows}


def test_an_administrator_defines_a_campaign_type_with_three_phases_beside_the_deal_types(
    login_as: LoginAs, database: Database
) -> None:
    root, alice = login_as("root"), login_as("alice")  # root reads Croatian
    assert alice.get("/admin/campaign-types").status_code == 403
    assert alice.post("/admin/campaign-types/new", data=THREE_PHASES).status_code == 403
    assert root.get("/admin/nothing-types").status_code == 404

    form = root.get("/admin/campaign-types/new").text
    assert "Nova vrsta kampanje" in form and 'name="direction"' not in form
    assert "Već započete kampanje zadržavaju svoje planove." in form
    assert root.post("/admin/campaign-types/new", data=THREE_PHASES).status_code == 303
    # A deal type may have the same name: names are unique within a kind.
    deal_type = {**THREE_PHASES, "direction": "sale"}
    assert root.post("/admin/deal-types/new", data=deal_type).status_code == 303
    again = root.post("/admin/campaign-types/new", data=THREE_PHASES)
    assert again.status_code == 422 and "Druga vrsta kampanje ima ovaj naziv." in again.text

    campaigns = _types(database, "campaign")
    assert campaigns == {"Sajam": [("Priprema", 14), ("Sajam", 3), ("Praćenje", 10)]}
    assert _types(database, "deal")["Sajam"] == campaigns["Sajam"]
    listed = root.get("/admin/campaign-types").text
    assert "Vrste kampanja" in listed and "Priprema (14 dana)" in listed
    assert 'href="/admin/deal-types"' in listed  # the admin menu names every kind
    assert "Sajam" in root.get("/admin/deal-types").text

    # The history's link to any type leads to its kind's editor; a kind's page does not
    # show another kind's type.
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        ids = dict(
            session.execute(
                select(ProcessType.process, ProcessType.id).where(ProcessType.name == "Sajam")
            ).all()
        )
    moved = root.get(f"/admin/process-types/{ids['campaign']}", follow_redirects=False)
    assert moved.headers["location"].endswith(f"/admin/campaign-types/{ids['campaign']}")
    assert root.get(f"/admin/deal-types/{ids['campaign']}").status_code == 404

    changed = {**THREE_PHASES, "phase_name": ["Priprema", "Sajam", ""], "phase_days": ["7", "3"]}
    saved = root.post(f"/admin/campaign-types/{ids['campaign']}", data=changed)
    assert saved.status_code == 303
    assert _types(database, "campaign")["Sajam"] == [("Priprema", 7), ("Sajam", 3)]
    assert _types(database, "deal")["Sajam"] == [("Priprema", 14), ("Sajam", 3), ("Praćenje", 10)]


def test_the_api_has_the_campaign_types_beside_the_deal_types(api: Api) -> None:
    body = {"name": "Newsletter", "phases": [{"name": "Draft", "planned_days": 5}]}
    assert api("alice").post("/campaign-types", json=body).status_code == 403
    made = api("root").post("/campaign-types", json=body)
    assert made.status_code == 201, made.text
    assert made.json()["phases"][0]["name"] == "Draft"
    with_direction = api("root").post("/campaign-types", json={**body, "direction": "sale"})
    assert with_direction.status_code == 422
    assert "direction" in with_direction.json()["error"]["fields"]
    names = [t["name"] for t in api("alice").get("/campaign-types").json()["items"]]
    assert names == ["Newsletter"]
    assert "Newsletter" not in [t["name"] for t in api("alice").get("/deal-types").json()["items"]]
    put = api("root").put(f"/campaign-types/{made.json()['id']}", json={**body, "name": "Bilten"})
    assert put.status_code == 200 and put.json()["name"] == "Bilten"
