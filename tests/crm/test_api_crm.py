"""The CRM through the API on a real server: partners, their reps, branches and
persons, groups, territories and the assignment table, ERP documents. Access follows
the sales set-up (alice and bob cover Zagreb, charlie Dalmacija, erin only reads), and
every answer is checked against the OpenAPI document."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from groupware import wiring
from groupware.access.policy import SYSTEM
from groupware.crm.api import PartnerPatch, PartnerQuery
from groupware.crm.models import Document, Partner
from groupware.crm.partners import PartnerFilter, PartnerIn, set_reps
from groupware.db import Database
from tests.api.helpers import API, Api, error_of, fields_of, walk
from tests.api.test_openapi import Contract
from tests.crm.conftest import Sales
from tests.factories import county_id, make_partner

OIB = "69435151530"
OTHER_OIB = "94577403194"


@pytest.fixture
def contract(api: Api) -> Contract:
    response = api.anonymous.get("/openapi.json")
    assert response.status_code == 200
    return Contract(response.json())


def partner_body(**values: Any) -> dict[str, Any]:
    return {"name": "Konzum d.d.", "postal_code": "10000", "city": "Zagreb", **values}


def create(contract: Contract, client: httpx.Client, **values: Any) -> dict[str, Any]:
    body = partner_body(**values)
    return dict(contract.call(client, "POST", "/partners", json=body, expect=201))


def committed_partners(database: Database, *names: str, **values: Any) -> list[int]:
    """Partners made by the system (as an import would), committed."""
    with database.transaction(actor_id=None, channel="cli") as session:
        return [make_partner(session, SYSTEM, name, **values).id for name in names]


def ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["items"]]


def count(database: Database, model: type[Any]) -> int:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


# -- partners -------------------------------------------------------------------------


def test_a_new_partner_gets_the_reps_of_its_territory(
    api: Api, sales: Sales, contract: Contract
) -> None:
    cast = api.cast
    made = create(contract, api("alice"), oib=f"HR{OIB}", tags=["Key account", "vip"])

    assert made["oib"] == OIB
    assert made["territory"] == {"id": sales.zagreb, "name": "Zagreb"}
    assert made["county"]["name"] == "Grad Zagreb"  # derived from the postal code
    assert [(r["id"], r["primary"], r["source"]) for r in made["reps"]] == [
        (cast.alice.id, True, "rule"),
        (cast.bob.id, False, "rule"),
    ]
    assert made["tags"] == ["key account", "vip"]
    one = {"partner_id": made["id"]}
    assert contract.call(api("bob"), "GET", "/partners/{partner_id}", **one, expect=200) == made
    params = {"record_type": "partners", "record_id": made["id"], "action": "create"}
    [created] = api("alice").get("/history", params=params).json()["items"]
    assert (created["channel"], created["actor_id"]) == ("api", cast.alice.id)


def test_a_rep_of_another_territory_gets_404_and_a_reader_may_not_create(
    api: Api, sales: Sales, contract: Contract
) -> None:
    made = create(contract, api("alice"))
    one = {"partner_id": made["id"]}
    missing = api("charlie").get("/partners/999999").json()

    assert api("charlie").get(f"/partners/{made['id']}").json() == missing
    contract.call(api("charlie"), "GET", "/partners/{partner_id}", **one, expect=404)
    body = {"phones": "01 1234 567"}
    contract.call(api("charlie"), "PATCH", "/partners/{partner_id}", **one, json=body, expect=404)
    contract.call(api("charlie"), "DELETE", "/partners/{partner_id}", **one, expect=404)
    reps = {"owner_id": api.cast.charlie.id}
    contract.call(
        api("charlie"), "PUT", "/partners/{partner_id}/reps", **one, json=reps, expect=404
    )
    assert ids(contract.call(api("charlie"), "GET", "/partners", expect=200)) == []

    erin = api.as_user_id(sales.erin)
    assert ids(contract.call(erin, "GET", "/partners", expect=200)) == [made["id"]]
    contract.call(erin, "POST", "/partners", json=partner_body(name="Mine"), expect=403)
    contract.call(erin, "PATCH", "/partners/{partner_id}", **one, json=body, expect=403)
    contract.call(erin, "DELETE", "/partners/{partner_id}", **one, expect=403)
    contract.call(api.anonymous, "GET", "/partners", expect=401)
    assert count(api.database, Partner) == 1


def test_a_bad_oib_is_refused_naming_the_field_and_nothing_is_written(
    api: Api, sales: Sales, contract: Contract
) -> None:
    response = api("alice").post("/partners", json=partner_body(oib="12345678901"))
    contract.check(response, "/partners")
    assert "OIB" in fields_of(response)["oib"]
    assert set(fields_of(api("alice").post("/partners", json={"name": ""}))) == {"name"}
    assert "postal_code" not in fields_of(
        api("alice").post("/partners", json=partner_body(oib="1", email="x"))
    )
    assert count(api.database, Partner) == 0

    made = create(contract, api("alice"), oib=OIB)
    path = f"/partners/{made['id']}"
    taken = fields_of(api("alice").post("/partners", json=partner_body(name="B", oib=OIB)))
    assert f"#{made['id']}" in taken["oib"]
    assert set(fields_of(api("alice").patch(path, json={"oib": "123", "city": "Split"}))) == {"oib"}
    assert set(fields_of(api("alice").patch(path, json={"nmae": "typo"}))) == {"nmae"}
    assert api("alice").get(path).json() == made


def test_patch_changes_only_what_is_sent_and_a_move_changes_the_reps(
    api: Api, sales: Sales, contract: Contract
) -> None:
    cast = api.cast
    made = create(contract, api("alice"), oib=OIB, email="info@konzum.hr", tags=["vip"])
    one = {"partner_id": made["id"]}

    body = {"phones": "01 2345 678", "group_id": sales.horeca}
    changed = contract.call(
        api("bob"), "PATCH", "/partners/{partner_id}", **one, json=body, expect=200
    )
    assert changed["phones"] == "01 2345 678"
    assert changed["group"] == {"id": sales.horeca, "name": "HoReCa"}
    unchanged = ("name", "oib", "email", "tags", "city", "county", "territory", "reps")
    assert {k: changed[k] for k in unchanged} == {k: made[k] for k in unchanged}
    cleared = api("bob").patch(f"/partners/{made['id']}", json={"group_id": None}).json()
    assert cleared["group"] is None

    move = {"postal_code": "21000", "city": "Split"}
    moved = contract.call(
        api("alice"), "PATCH", "/partners/{partner_id}", **one, json=move, expect=200
    )
    assert moved["county"]["name"] == "Splitsko-dalmatinska županija"
    assert moved["territory"]["name"] == "Dalmacija"
    assert [r["id"] for r in moved["reps"]] == [cast.charlie.id]
    # Alice handed it over: it is charlie's now.
    contract.call(api("alice"), "GET", "/partners/{partner_id}", **one, expect=404)
    contract.call(api("charlie"), "GET", "/partners/{partner_id}", **one, expect=200)


def test_reps_chosen_by_hand_share_the_partner_until_handed_back(
    api: Api, sales: Sales, contract: Contract
) -> None:
    cast = api.cast
    made = create(contract, api("alice"))
    one = {"partner_id": made["id"]}
    template = "/partners/{partner_id}/reps"

    body = {"owner_id": cast.bob.id, "rep_ids": [cast.charlie.id]}
    shared = contract.call(api("alice"), "PUT", template, **one, json=body, expect=200)
    assert shared["manual_assignment"] is True
    assert [(r["id"], r["primary"], r["source"]) for r in shared["reps"]] == [
        (cast.bob.id, True, "manual"),
        (cast.charlie.id, False, "manual"),
    ]
    contract.call(api("charlie"), "GET", "/partners/{partner_id}", **one, expect=200)
    bad = {"owner_id": 999999}
    assert "rep_ids" in fields_of(api("alice").put(f"/partners/{made['id']}/reps", json=bad))

    back = contract.call(api("bob"), "PUT", template, **one, json={"automatic": True}, expect=200)
    assert back["manual_assignment"] is False
    assert [r["id"] for r in back["reps"]] == [cast.alice.id, cast.bob.id]
    contract.call(api("charlie"), "GET", "/partners/{partner_id}", **one, expect=404)


def test_the_partner_list_filters_and_pages_by_id(
    api: Api, sales: Sales, contract: Contract
) -> None:
    zagreb = committed_partners(api.database, "Alfa d.o.o.", "Beta d.o.o.", "Gama obrt")
    [split] = committed_partners(api.database, "Delta d.d.", postal_code="21000", city="Split")
    [abroad] = committed_partners(api.database, "Epsilon GmbH", country="AT", postal_code="")

    pages = walk(api("root"), "/partners", 2)
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [p["id"] for page in pages for p in page] == sorted([*zagreb, split, abroad])
    assert [p["id"] for page in walk(api("alice"), "/partners", 2) for p in page] == zagreb

    def listed(who: str, **params: Any) -> list[int]:
        return ids(contract.call(api(who), "GET", "/partners", params=params, expect=200))

    assert listed("root", q="beta") == [zagreb[1]]
    assert listed("root", city="split") == [split]
    assert listed("root", territory_id=sales.dalmacija) == [split]
    assert listed("root", county_id=county_id_of(api, "HR-17")) == [split]
    assert listed("root", rep_id=api.cast.bob.id) == zagreb
    assert listed("root", unassigned="true") == [abroad]
    assert listed("root", kind="person") == []
    assert listed("charlie") == [split]
    assert listed("alice", q="delta") == []
    error_of(api("root").get("/partners", params={"cursor": "x"}), 422)
    assert "county_id" in fields_of(api("root").get("/partners", params={"county_id": "x"}))
    assert "limit" in fields_of(api("root").get("/partners", params={"limit": 501}))


def county_id_of(api: Api, code: str) -> int:
    with api.database.transaction(actor_id=None, channel="cli", write=False) as session:
        return county_id(session, code)


def test_duplicates_are_found_without_showing_what_the_user_may_not_see(
    api: Api, sales: Sales, contract: Contract
) -> None:
    made = create(contract, api("alice"), oib=OIB, email="info@konzum.hr")
    probe = partner_body(name="KONZUM", oib=OIB)

    found = contract.call(api("bob"), "POST", "/partners/duplicates", json=probe, expect=200)
    assert found["items"] == [
        {"reason": "oib", "partner": {"id": made["id"], "name": "Konzum d.d."}}
    ]
    hidden = contract.call(api("charlie"), "POST", "/partners/duplicates", json=probe, expect=200)
    assert hidden["items"] == [{"reason": "oib", "partner": None}]
    by_mail = partner_body(name="Other", city="Split", email="INFO@konzum.hr")
    assert api("bob").post("/partners/duplicates", json=by_mail).json()["items"][0]["reason"] == (
        "email"
    )
    params = {"exclude_id": made["id"]}
    assert api("bob").post("/partners/duplicates", json=probe, params=params).json() == {
        "items": []
    }
    assert "oib" in fields_of(
        api("bob").post("/partners/duplicates", json={"name": "X", "oib": "1"})
    )
    contract.call(
        api.as_user_id(sales.erin), "POST", "/partners/duplicates", json=probe, expect=403
    )


def test_deleting_a_partner_takes_delete_rights(api: Api, sales: Sales, contract: Contract) -> None:
    cast = api.cast
    [mine, theirs] = committed_partners(api.database, "Mine", "Theirs")
    with api.database.transaction(actor_id=None, channel="cli") as session:
        for partner_id, owner in ((mine, cast.bob), (theirs, cast.alice)):
            partner = session.get(Partner, partner_id)
            assert partner is not None
            set_reps(session, partner, owner_id=owner.id, rep_ids=[])

    # Bob covers the territory (he may edit both) but deletes only his own.
    contract.call(api("bob"), "DELETE", "/partners/{partner_id}", partner_id=theirs, expect=403)
    contract.call(api("bob"), "DELETE", "/partners/{partner_id}", partner_id=mine, expect=204)
    contract.call(api("bob"), "GET", "/partners/{partner_id}", partner_id=mine, expect=404)


def test_the_query_and_patch_schemas_follow_the_services() -> None:
    assert set(PartnerQuery.model_fields) - {"limit", "cursor"} == set(
        PartnerFilter.model_fields
    ) - {"sort"}
    assert set(PartnerPatch.model_fields) == set(PartnerIn.model_fields)


# -- branches and persons -------------------------------------------------------------


def test_branches_and_persons_follow_their_partners_access(
    api: Api, sales: Sales, contract: Contract
) -> None:
    partner = create(contract, api("alice"))
    alice, charlie = api("alice"), api("charlie")
    branch_body = {"partner_id": partner["id"], "name": "Skladište Sesvete", "postal_code": "10360"}
    branch = contract.call(alice, "POST", "/branches", json=branch_body, expect=201)
    assert branch["partner"] == {"id": partner["id"], "name": "Konzum d.d."}
    assert branch["county"]["name"] == "Grad Zagreb"
    one_branch = {"branch_id": branch["id"]}
    person_body = {
        "partner_id": partner["id"],
        "branch_id": branch["id"],
        "first_name": "Iva",
        "last_name": "Šimić",
        "email": "Iva@Konzum.hr",
        "mailing_consent": True,
    }
    person = contract.call(alice, "POST", "/persons", json=person_body, expect=201)
    assert (person["full_name"], person["email"]) == ("Iva Šimić", "iva@konzum.hr")
    assert person["branch"] == {"id": branch["id"], "name": "Skladište Sesvete"}
    one_person = {"person_id": person["id"]}

    for template, one in (
        ("/branches/{branch_id}", one_branch),
        ("/persons/{person_id}", one_person),
    ):
        contract.call(charlie, "GET", template, **one, expect=404)
        contract.call(charlie, "PATCH", template, **one, json={"phones": "1"}, expect=404)
        contract.call(charlie, "DELETE", template, **one, expect=404)
        contract.call(api.as_user_id(sales.erin), "DELETE", template, **one, expect=403)
    for template in ("/branches", "/persons"):
        assert ids(contract.call(charlie, "GET", template, expect=200)) == []
        listed = contract.call(
            api("bob"), "GET", template, params={"partner_id": partner["id"]}, expect=200
        )
        assert len(listed["items"]) == 1
    assert ids(alice.get("/persons", params={"q": "šim"}).json()) == [person["id"]]
    assert ids(alice.get("/branches", params={"q": "SESVETE"}).json()) == [branch["id"]]
    stranger = {**person_body, "partner_id": partner["id"] + 1000}
    contract.call(charlie, "POST", "/persons", json={**person_body}, expect=404)
    contract.call(alice, "POST", "/persons", json=stranger, expect=404)

    patched = contract.call(
        alice,
        "PATCH",
        "/persons/{person_id}",
        **one_person,
        json={"function": "Nabava"},
        expect=200,
    )
    assert (patched["function"], patched["last_name"], patched["branch"]) == (
        "Nabava",
        "Šimić",
        person["branch"],
    )
    assert "email" in fields_of(alice.patch(f"/persons/{person['id']}", json={"email": "nope"}))
    opted = alice.patch(f"/persons/{person['id']}", json={"mailing_consent": False}).json()
    assert opted["opted_out_at"] is not None
    moved = contract.call(
        alice,
        "PATCH",
        "/branches/{branch_id}",
        **one_branch,
        json={"postal_code": "10410"},
        expect=200,
    )
    assert moved["county"]["name"] == "Zagrebačka županija"
    assert moved["name"] == "Skladište Sesvete"
    contract.call(alice, "DELETE", "/persons/{person_id}", **one_person, expect=204)
    contract.call(alice, "DELETE", "/branches/{branch_id}", **one_branch, expect=204)
    contract.call(alice, "GET", "/branches/{branch_id}", **one_branch, expect=404)


# -- groups, territories, the assignment table -----------------------------------------


def test_admins_keep_groups_territories_and_rules_and_reps_read_them(
    api: Api, sales: Sales, contract: Contract
) -> None:
    root, alice, cast = api("root"), api("alice"), api.cast
    group = contract.call(root, "POST", "/partner-groups", json={"name": "Veleprodaja"}, expect=201)
    one_group = {"group_id": group["id"]}
    assert "name" in fields_of(root.post("/partner-groups", json={"name": "horeca"}))
    renamed = contract.call(
        root,
        "PATCH",
        "/partner-groups/{group_id}",
        **one_group,
        json={"description": "B2B"},
        expect=200,
    )
    assert renamed == {"id": group["id"], "name": "Veleprodaja", "description": "B2B"}
    names = [g["name"] for g in contract.call(alice, "GET", "/partner-groups", expect=200)["items"]]
    assert names == ["HoReCa", "Veleprodaja"]

    areas = [
        {"county_id": county_id_of(api, "HR-13")},
        {"postal_from": "23000", "postal_to": "23999"},
    ]
    body = {"name": "Zadar", "areas": areas}
    territory = contract.call(root, "POST", "/territories", json=body, expect=201)
    assert [a["county"] for a in territory["areas"]] == [
        {"id": county_id_of(api, "HR-13"), "name": "Zadarska županija"},
        None,
    ]
    one = {"territory_id": territory["id"]}
    renamed_t = contract.call(
        root,
        "PATCH",
        "/territories/{territory_id}",
        **one,
        json={"description": "Sjever"},
        expect=200,
    )
    assert renamed_t["areas"] == territory["areas"]
    bad_areas = {"areas": [{"postal_from": "23999", "postal_to": "23000"}]}
    assert "areas.0" in fields_of(root.patch(f"/territories/{territory['id']}", json=bad_areas))
    listed = contract.call(alice, "GET", "/territories", expect=200)["items"]
    assert [t["name"] for t in listed] == ["Dalmacija", "Zadar", "Zagreb"]
    contract.call(alice, "GET", "/territories/{territory_id}", **one, expect=200)

    rule_body = {
        "territory_id": territory["id"],
        "group_id": group["id"],
        "rep_ids": [cast.dave.id],
    }
    rule = contract.call(root, "POST", "/assignment-rules", json=rule_body, expect=201)
    assert rule["reps"] == [{"id": cast.dave.id, "name": "Dave"}]
    assert rule["group"] == {"id": group["id"], "name": "Veleprodaja"}
    one_rule = {"rule_id": rule["id"]}
    patch = {"rep_ids": [cast.bob.id, cast.dave.id], "priority": 5}
    changed = contract.call(
        root, "PATCH", "/assignment-rules/{rule_id}", **one_rule, json=patch, expect=200
    )
    assert ([r["id"] for r in changed["reps"]], changed["priority"]) == (
        [cast.bob.id, cast.dave.id],
        5,
    )
    assert changed["territory"] == {"id": territory["id"], "name": "Zadar"}
    assert "rep_ids" in fields_of(
        root.patch(f"/assignment-rules/{rule['id']}", json={"rep_ids": []})
    )
    rules = contract.call(alice, "GET", "/assignment-rules", expect=200)["items"]
    assert rules[0]["id"] == rule["id"]  # priority 5 before the default 100
    contract.call(alice, "GET", "/assignment-rules/{rule_id}", **one_rule, expect=200)

    # Reps read the table; only administrators change it.
    for method, template, path, json in (
        ("POST", "/partner-groups", {}, {"name": "X"}),
        ("PATCH", "/partner-groups/{group_id}", one_group, {"name": "X"}),
        ("DELETE", "/partner-groups/{group_id}", one_group, None),
        ("POST", "/territories", {}, {"name": "X"}),
        ("PATCH", "/territories/{territory_id}", one, {"name": "X"}),
        ("DELETE", "/territories/{territory_id}", one, None),
        ("POST", "/assignment-rules", {}, rule_body),
        ("PATCH", "/assignment-rules/{rule_id}", one_rule, {"priority": 1}),
        ("DELETE", "/assignment-rules/{rule_id}", one_rule, None),
        ("POST", "/territories/reassign", {}, {"dry_run": True}),
    ):
        contract.call(alice, method, template, **path, json=json, expect=403)

    in_use = root.delete(f"/partner-groups/{group['id']}")
    assert "pravila" in error_of(in_use, 422)["message"].lower()
    contract.call(root, "DELETE", "/assignment-rules/{rule_id}", **one_rule, expect=204)
    contract.call(root, "DELETE", "/partner-groups/{group_id}", **one_group, expect=204)
    contract.call(root, "DELETE", "/territories/{territory_id}", **one, expect=204)
    contract.call(root, "GET", "/territories/{territory_id}", **one, expect=404)
    contract.call(root, "GET", "/assignment-rules/{rule_id}", **one_rule, expect=404)


def test_reassignment_previews_then_applies_the_table(
    api: Api, sales: Sales, contract: Contract
) -> None:
    root, cast = api("root"), api.cast
    partners = committed_partners(api.database, "Hotel Esplanade", "Bistro Kod Mate")
    committed_partners(api.database, "Stranac GmbH", country="AT", postal_code="")
    for partner_id in partners:
        api("alice").patch(f"/partners/{partner_id}", json={"notes": "x"})  # no move: no change
    rule = {"territory_id": sales.zagreb, "group_id": sales.horeca, "rep_ids": [cast.dave.id]}
    contract.call(root, "POST", "/assignment-rules", json=rule, expect=201)
    with api.database.transaction(actor_id=None, channel="cli") as session:
        session.get(Partner, partners[0]).group_id = sales.horeca  # type: ignore[union-attr]

    preview = contract.call(
        root, "POST", "/territories/reassign", json={"dry_run": True}, expect=200
    )
    assert (preview["dry_run"], preview["changed"], preview["unassigned"]) == (True, 1, 1)
    [change] = preview["changes"]
    assert change["partner"] == {"id": partners[0], "name": "Hotel Esplanade"}
    assert change["old_owner"] == {"id": cast.alice.id, "name": "Alice"}
    assert change["new_owner"] == {"id": cast.dave.id, "name": "Dave"}
    assert (
        change["old_territory"] == change["new_territory"] == {"id": sales.zagreb, "name": "Zagreb"}
    )
    owner = api("root").get(f"/partners/{partners[0]}").json()["reps"][0]["id"]
    assert owner == cast.alice.id  # a dry run changes nothing

    done = contract.call(root, "POST", "/territories/reassign", json={"dry_run": False}, expect=200)
    assert (done["dry_run"], done["changed"], done["changes"]) == (False, 1, preview["changes"])
    assert api("root").get(f"/partners/{partners[0]}").json()["reps"][0]["id"] == cast.dave.id
    again = root.post("/territories/reassign", json={"dry_run": False}).json()
    assert again["changed"] == 0
    history = (
        api("root")
        .get("/history", params={"record_type": "partners", "record_id": partners[0]})
        .json()["items"]
    )
    assert any("assignment_rule_id" in c["changes"] and c["channel"] == "api" for c in history)
    assert "force" in fields_of(root.post("/territories/reassign", json={"force": "sometimes"}))


# -- documents ----------------------------------------------------------------------------


def document(partner_id: int, number: str = "R-2024-001", **values: Any) -> dict[str, Any]:
    return {
        "kind": "invoice",
        "number": number,
        "date": "2024-03-01",
        "due_date": "2024-03-31",
        "partner_id": partner_id,
        "net_amount": "100.00",
        "gross_amount": "125.00",
        "open_amount": "125.00",
        **values,
    }


def test_a_document_is_upserted_by_kind_and_number(
    api: Api, sales: Sales, contract: Contract
) -> None:
    partner = create(contract, api("alice"))
    alice = api("alice")

    made = contract.call(alice, "PUT", "/documents", json=document(partner["id"]), expect=201)
    assert (made["net_amount"], made["gross_amount"], made["partner"]["id"]) == (
        "100.00",
        "125.00",
        partner["id"],
    )
    again = contract.call(alice, "PUT", "/documents", json=document(partner["id"]), expect=200)
    assert again == made
    paid = contract.call(
        alice,
        "PUT",
        "/documents",
        json=document(partner["id"], status="closed", open_amount=0),
        expect=200,
    )
    assert (paid["id"], paid["status"], paid["open_amount"]) == (made["id"], "closed", "0.00")
    assert count(api.database, Document) == 1
    one = {"document_id": made["id"]}
    assert contract.call(api("bob"), "GET", "/documents/{document_id}", **one, expect=200) == paid

    contract.call(api("charlie"), "GET", "/documents/{document_id}", **one, expect=404)
    contract.call(api("charlie"), "PUT", "/documents", json=document(partner["id"]), expect=404)
    wrong = document(partner["id"], gross_amount="90.00")
    assert set(fields_of(alice.put("/documents", json=wrong))) == {""}
    assert set(fields_of(alice.put("/documents", json=document(partner["id"], kind="bill")))) == {
        "kind"
    }
    assert count(api.database, Document) == 1


def test_documents_are_listed_by_partner_kind_and_date(
    api: Api, sales: Sales, contract: Contract
) -> None:
    alice = api("alice")
    mine = create(contract, alice)
    theirs = create(
        contract, api("charlie"), name="Split d.o.o.", postal_code="21000", city="Split"
    )
    for number, date, kind in (("1", "2023-12-31", "offer"), ("2", "2024-01-15", "order")):
        alice.put(
            "/documents", json=document(mine["id"], number, date=date, kind=kind, due_date=None)
        )
    api("charlie").put("/documents", json=document(theirs["id"], "3"))

    def numbers(who: str, **params: Any) -> list[str]:
        page = contract.call(api(who), "GET", "/documents", params=params, expect=200)
        return [d["number"] for d in page["items"]]

    assert numbers("alice") == ["1", "2"]
    assert numbers("root") == ["1", "2", "3"]
    assert numbers("root", partner_id=theirs["id"]) == ["3"]
    assert numbers("alice", kind="order") == ["2"]
    assert numbers("alice", date_from="2024-01-01") == ["2"]
    assert numbers("alice", date_to="2023-12-31") == ["1"]
    assert numbers("root", status="open", date_from="2024-03-01", date_to="2024-03-01") == ["3"]
    assert [d["number"] for p in walk(api("root"), "/documents", 2) for d in p] == ["1", "2", "3"]
    assert "date_from" in fields_of(alice.get("/documents", params={"date_from": "yesterday"}))


def test_a_document_batch_is_all_or_nothing(api: Api, sales: Sales, contract: Contract) -> None:
    alice = api("alice")
    partner = create(contract, alice)
    alice.put("/documents", json=document(partner["id"], "R-0"))
    batch = [document(partner["id"], f"R-{i}") for i in range(3)]

    done = contract.call(alice, "POST", "/documents/batch", json={"documents": batch}, expect=200)
    assert (done["created"], done["updated"]) == (2, 1)
    assert [(i["index"], i["created"]) for i in done["items"]] == [(0, False), (1, True), (2, True)]
    assert count(api.database, Document) == 3

    bad = [
        document(partner["id"], "R-10"),
        document(partner["id"], "R-11", gross_amount="1.00"),
        document(999999, "R-12"),
        document(partner["id"], "R-10"),
        document(partner["id"], "R-13", currency="XXX", date="31.02.2024"),
    ]
    response = alice.post("/documents/batch", json={"documents": bad})
    contract.check(response, "/documents/batch")
    fields = fields_of(response)
    assert set(fields) >= {"documents.1", "documents.4.date"}
    assert count(api.database, Document) == 3  # the valid ones were not kept either

    # Service errors (no such partner, the same document twice) name their item too.
    checked = [
        document(partner["id"], "R-20"),
        document(999999, "R-21"),
        document(partner["id"], "R-20"),
    ]
    fields = fields_of(alice.post("/documents/batch", json={"documents": checked}))
    assert set(fields) == {"documents.1.partner_id", "documents.2.number"}
    assert "item 0" in fields["documents.2.number"]
    assert count(api.database, Document) == 3
    too_many = {"documents": [document(partner["id"], str(i)) for i in range(1001)]}
    assert set(fields_of(alice.post("/documents/batch", json=too_many))) == {"documents"}
    assert set(fields_of(alice.post("/documents/batch", json={"documents": []}))) == {"documents"}


def test_a_batch_of_a_thousand_documents_is_accepted(
    api: Api, sales: Sales, contract: Contract
) -> None:
    partner = create(contract, api("alice"))
    batch = {"documents": [document(partner["id"], f"R-{i:04}") for i in range(1000)]}
    response = api("alice").post("/documents/batch", json=batch, timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 1000
    assert count(api.database, Document) == 1000


# -- the document ------------------------------------------------------------------------


CRM_PATHS = (
    "/partners",
    "/branches",
    "/persons",
    "/partner-groups",
    "/territories",
    "/assignment-rules",
    "/documents",
)


def test_every_crm_operation_is_in_the_document(contract: Contract) -> None:
    crm = [op for a in wiring.current().apis if a.tag == "crm" for op in a.operations]
    documented = {
        (path.removeprefix(API), method)
        for path, methods in contract.document["paths"].items()
        for method in methods
        if path.removeprefix(API).startswith(CRM_PATHS)
    }
    assert documented == {(op.path, op.method.lower()) for op in crm}
    assert len(documented) == 36
