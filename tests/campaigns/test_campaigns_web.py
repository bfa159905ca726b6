"""Campaign pages through the real server: the form read the Croatian way, the list,
the page with its phases moved and the campaign ended, refusals, and access."""

from __future__ import annotations

import decimal

from sqlalchemy import select

from groupware.access.policy import SYSTEM
from groupware.campaigns.models import Campaign
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.db import Database
from groupware.deals.models import Deal
from groupware.deals.types import save_type as save_deal_type
from groupware.phases import types as phase_types
from groupware.phases.models import Phase
from groupware.phases.types import StepIn, TypeIn
from tests.api.helpers import Api
from tests.conftest import LoginAs
from tests.crm.conftest import Sales
from tests.deals.test_deals_web import new_deal_form
from tests.factories import make_partner


def _fair(database: Database) -> int:
    with database.transaction(actor_id=None, channel="cli") as session:
        phases = [
            StepIn(name=n, planned_days=d)
            for n, d in (("Priprema", 14), ("Sajam", 3), ("Praćenje", 10))
        ]
        kind = TypeIn(name="Sajam", phases=phases)
        return phase_types.save_type(session, SYSTEM, CAMPAIGN_TYPES, None, kind).id


def test_a_campaign_is_made_moved_and_ended_in_croatian(
    login_as: LoginAs, database: Database
) -> None:
    type_id = _fair(database)
    root = login_as("root")  # reads Croatian
    form = {
        "name": "Sajam Zagreb 2026",
        "type_id": str(type_id),
        "status": "planned",
        "starts_on": "2026-11-02",
        "ends_on": "2026-10-01",
        "budget": "12.500,50",
        "currency": "EUR",
        "expected_revenue": "40.000",
        "expected_responses": "120",
    }
    bad = root.post("/campaigns/new", data=form)
    assert bad.status_code == 422 and "Kampanja ne može završiti prije nego što počne." in bad.text
    made = root.post("/campaigns/new", data={**form, "ends_on": "2027-04-30"})
    assert made.status_code == 303
    campaign_id = int(made.headers["location"].rsplit("/", 1)[1])
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.get_one(Campaign, campaign_id)
        assert row.budget == decimal.Decimal("12500.50") and row.expected_responses == 120
        phases = list(
            session.scalars(
                select(Phase.id)
                .where(Phase.record_type == "campaigns", Phase.record_id == campaign_id)
                .order_by(Phase.position)
            )
        )  # fmt: skip
    page = root.get(f"/campaigns/{campaign_id}").text
    assert "12.500,50" in page and "Priprema" in page and "Praćenje" in page
    listed = root.get("/campaigns").text
    assert "Sajam Zagreb 2026" in listed

    assert (
        root.post(f"/campaigns/{campaign_id}/move", data={"phase_id": str(phases[1])}).status_code
        == 303
    )
    edit = root.get(f"/campaigns/{campaign_id}/edit").text
    assert 'value="12.500,50"' in edit  # shown back the Croatian way
    ended = root.post(f"/campaigns/{campaign_id}/end", data={"status": "finished"})
    assert ended.status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.get_one(Campaign, campaign_id)
        assert row.status == "finished" and row.phase_due is None
    assert "Sajam Zagreb 2026" not in root.get("/campaigns").text  # the open ones by default
    assert "Sajam Zagreb 2026" in root.get("/campaigns?shown=all").text
    again = root.post(f"/campaigns/{campaign_id}/move", data={"phase_id": str(phases[0])})
    assert again.status_code == 422 and "više se ne pomiče" in again.text


def test_only_those_who_may_see_a_campaign_find_it(login_as: LoginAs, database: Database) -> None:
    type_id = _fair(database)
    alice, charlie = login_as("alice"), login_as("charlie")
    form = {"name": "Alicin newsletter", "type_id": str(type_id), "starts_on": "2027-01-04"}
    made = alice.post("/campaigns/new", data=form)
    assert made.status_code == 303, made.text
    campaign_id = int(made.headers["location"].rsplit("/", 1)[1])
    assert charlie.get(f"/campaigns/{campaign_id}").status_code == 404
    assert (
        charlie.post(f"/campaigns/{campaign_id}/end", data={"status": "cancelled"}).status_code
        == 404
    )
    assert "Alicin newsletter" not in charlie.get("/campaigns").text
    assert "Alicin newsletter" in alice.get("/campaigns").text


def test_a_deal_goes_into_a_campaign_its_rep_may_see_and_the_list_filters_by_it(
    login_as: LoginAs, database: Database, sales: Sales
) -> None:
    type_id = _fair(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        zagreb = make_partner(session, SYSTEM, "Konzum d.d.", postal_code="10000").id  # alice's
        sale = TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda")])
        deal_type = save_deal_type(session, SYSTEM, None, sale).id
    alice, charlie = login_as("alice"), login_as("charlie")
    campaign = {"type_id": str(type_id), "starts_on": "2026-11-02"}
    mine = alice.post("/campaigns/new", data={**campaign, "name": "Alicin sajam"})
    hidden = charlie.post("/campaigns/new", data={**campaign, "name": "Charliejev sajam"})
    mine_id = int(mine.headers["location"].rsplit("/", 1)[1])
    hidden_id = int(hidden.headers["location"].rsplit("/", 1)[1])
    form = alice.get("/deals/new").text
    assert "Alicin sajam" in form and "Charliejev sajam" not in form
    deal = new_deal_form(deal_type, zagreb, title="Police", source="campaign")
    refused = alice.post("/deals/new", data={**deal, "campaign_id": str(hidden_id)})
    assert refused.status_code == 422 and "Charliejev" not in refused.text
    assert alice.post("/deals/new", data={**deal, "campaign_id": str(mine_id)}).status_code == 303
    assert alice.post("/deals/new", data={**deal, "title": "Izvan kampanje"}).status_code == 303
    partner_page = alice.get(f"/partners/{zagreb}").text
    assert 'data-testid="partner-campaigns"' in partner_page and "Alicin sajam" in partner_page
    listed = alice.get(f"/deals?campaign_id={mine_id}&status=&cols=title,campaign").text
    assert ">Police</a>" in listed and ">Izvan kampanje</a>" not in listed
    assert "Campaign: Alicin sajam" in listed and f'href="/campaigns/{mine_id}"' in listed
    # charlie does not learn the name of alice's campaign from the filter's words
    assert "Alicin sajam" not in charlie.get(f"/deals?campaign_id={mine_id}").text


def test_the_board_shows_one_campaign_s_deals_and_keeps_it_when_a_card_moves(
    login_as: LoginAs, database: Database, sales: Sales
) -> None:
    type_id = _fair(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        zagreb = make_partner(session, SYSTEM, "Konzum d.d.", postal_code="10000").id
        sale = TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda"), StepIn(name="Ugovor")])
        kind = save_deal_type(session, SYSTEM, None, sale)
        deal_type, contract = kind.id, kind.phases[1].id
    alice = login_as("alice")
    made = alice.post(
        "/campaigns/new", data={"name": "Sajam", "type_id": str(type_id), "starts_on": "2026-11-02"}
    )
    campaign_id = int(made.headers["location"].rsplit("/", 1)[1])
    for title, campaign in (("U kampanji", str(campaign_id)), ("Izvan", "")):
        form = new_deal_form(deal_type, zagreb, title=title, campaign_id=campaign)
        assert alice.post("/deals/new", data=form).status_code == 303
    alice.get("/profile")  # the flashes of the deals made
    board = alice.get(f"/deals/board?campaign_id={campaign_id}").text
    assert "U kampanji" in board and "Izvan" not in board and "Campaign: Sajam" in board
    assert "Izvan" in alice.get("/deals/board").text
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        deal_id = session.scalar(select(Deal.id).where(Deal.title == "U kampanji"))
    moved = alice.post(
        f"/deals/{deal_id}/board-move",
        data={"step_id": str(contract), "campaign_id": str(campaign_id)},
    )
    assert moved.status_code == 303 and f"campaign_id={campaign_id}" in moved.headers["location"]


def test_the_reports_group_deals_by_campaign_and_show_one_campaign_s_alone(
    login_as: LoginAs, database: Database, sales: Sales, api: Api
) -> None:
    type_id = _fair(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        zagreb = make_partner(session, SYSTEM, "Konzum d.d.", postal_code="10000").id
        sale = TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda")])
        deal_type = save_deal_type(session, SYSTEM, None, sale).id
    alice = login_as("alice")
    made = alice.post(
        "/campaigns/new", data={"name": "Sajam", "type_id": str(type_id), "starts_on": "2026-11-02"}
    )
    campaign_id = str(int(made.headers["location"].rsplit("/", 1)[1]))
    for title, campaign, amount in (("A", campaign_id, "1200.00"), ("B", campaign_id, "800.00"),
                                    ("C", "", "400.00")):  # fmt: skip
        form = new_deal_form(deal_type, zagreb, title=title, campaign_id=campaign, amount=amount,
                             probability="25", expected_close="2026-04-30")  # fmt: skip
        assert alice.post("/deals/new", data=form).status_code == 303
    period = {"from": "2026-01-01", "to": "2026-12-31", "by": "campaign"}
    rows = api("alice").get("/reports/forecast", params=period).json()["items"]
    april = {r["key"]: r["forecast"] for r in rows if r["month"] == "2026-04-01"}
    assert april == {"Sajam": "500.00", "": "100.00"}  # (1200 + 800) × 25 %, 400 × 25 %
    page = alice.get("/deals/reports", params=period)
    assert page.status_code == 200 and "Sajam" in page.text
    # One campaign's figures only: its deals (and their invoices), nothing else.
    only = {**period, "by": "none", "campaign_id": campaign_id}
    rows = api("alice").get("/reports/forecast", params=only).json()["items"]
    assert {r["month"]: r["forecast"] for r in rows} == {"2026-04-01": "500.00"}
    pipeline = api("alice").get("/reports/pipeline", params=only).json()["items"]
    assert sum(p["count"] for p in pipeline) == 2
    shown = alice.get("/deals/reports", params=only).text
    assert f'<option value="{campaign_id}" selected>Sajam</option>' in shown


def test_a_campaign_s_results_match_its_deals_worked_out_by_hand(
    login_as: LoginAs, database: Database, sales: Sales, api: Api
) -> None:
    type_id = _fair(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        zagreb = make_partner(session, SYSTEM, "Konzum d.d.", postal_code="10000").id
        sale = TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda")])
        deal_type = save_deal_type(session, SYSTEM, None, sale).id
    alice = login_as("alice")  # reads English
    campaign = {"name": "Sajam", "type_id": str(type_id), "starts_on": "2026-11-02",
                "budget": "300", "expected_revenue": "3,000.00"}  # fmt: skip
    made = alice.post("/campaigns/new", data=campaign)
    assert made.status_code == 303, made.text
    campaign_id = int(made.headers["location"].rsplit("/", 1)[1])
    alice_id, bob_id = api.cast.alice.id, api.cast.bob.id
    plan = [(alice_id, "1000.00", "won"), (alice_id, "500.00", "won"), (bob_id, "700.00", "lost"),
            (bob_id, "900.00", "open"), (alice_id, "50.00", "won")]  # fmt: skip
    for number, (owner, amount, status) in enumerate(plan):
        currency = "USD" if number == 4 else "EUR"  # counted, but not in the EUR revenue
        form = new_deal_form(deal_type, zagreb, title=f"Posao {number}", amount=amount,
                             campaign_id=str(campaign_id), currency=currency,
                             owner_id=str(owner))  # fmt: skip
        made_deal = alice.post("/deals/new", data=form)
        assert made_deal.status_code == 303, made_deal.text
        deal_id = int(made_deal.headers["location"].rsplit("/", 1)[1])
        if status != "open":
            done = {"status": status, "reason": "Cijena"}
            assert alice.post(f"/deals/{deal_id}/close", data=done).status_code == 303
    # by hand: won 1000 + 500 EUR (the USD deal left out), budget 300 -> return
    # (1500 - 300) / 300 = 400 %; goal 3000 -> 50 %; 5 deals: 1 open, 3 won, 1 lost
    results = api("alice").get(f"/campaigns/{campaign_id}/results").json()
    assert (results["opened"], results["open"], results["won"], results["lost"]) == (5, 1, 3, 1)
    assert results["revenue"] == "1500.00" and results["other_currencies"] == ["USD"]
    assert results["return_rate"] == "400.0" and results["goal_rate"] == "50.0"
    by_rep = {r["name"]: (r["opened"], r["won"], r["lost"], r["revenue"]) for r in results["reps"]}
    assert by_rep == {"Alice": (3, 3, 0, "1500.00"), "Bob": (2, 0, 1, "0.00")}
    page = alice.get(f"/campaigns/{campaign_id}").text
    assert 'data-result="return">400.0 %' in page and 'data-result="goal">50.0 %' in page
    # bob's deals are in it, but the campaign is alice's: he may not see its results
    assert api("bob").get(f"/campaigns/{campaign_id}/results").status_code == 404
