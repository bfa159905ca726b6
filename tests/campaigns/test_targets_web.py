"""Choosing a campaign's targets through the real server: the live count (read the
Croatian way, through the access filter), freezing, a CSV list with its unmatched rows,
partners picked on the partner list (and taken back), statuses set in bulk on the
target list, and those who may not see the campaign refused."""

from __future__ import annotations

import datetime as dt
import decimal
import re

from sqlalchemy import select

from groupware.access.policy import SYSTEM
from groupware.campaigns.models import CampaignTarget
from groupware.crm.documents import DocumentIn, upsert_document
from groupware.crm.models import Partner
from groupware.db import Database
from tests.campaigns.test_campaigns_web import _fair
from tests.conftest import LoginAs
from tests.crm.conftest import Sales
from tests.factories import make_partner

HX = {"HX-Request": "true"}  # the live count is htmx's request


def _count(page: str) -> str:
    found = re.search(r'data-testid="live-count" data-count="(\d*)"', page)
    assert found is not None, page
    return found.group(1)


def _targets(database: Database, campaign_id: int) -> dict[str, str]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        rows = session.execute(
            select(Partner.name, CampaignTarget.status)
            .join(Partner, Partner.id == CampaignTarget.partner_id)
            .where(CampaignTarget.campaign_id == campaign_id)
        )
        return {name: status for name, status in rows}


def test_targets_are_chosen_by_criteria_a_csv_list_and_by_hand(
    login_as: LoginAs, database: Database, sales: Sales
) -> None:
    type_id = _fair(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        konzum = make_partner(
            session, SYSTEM, "Konzum d.d.", postal_code="10000", oib="69435151530"
        )
        pekara = make_partner(session, SYSTEM, "Pekara Dubravica d.o.o.", postal_code="10020")
        solana = make_partner(session, SYSTEM, "Solana Pag d.d.", city="Split", postal_code="21000")
        konzum_id, pekara_id, solana_id = konzum.id, pekara.id, solana.id
        upsert_document(
            session,
            SYSTEM,
            DocumentIn(
                kind="invoice", number="R-1", date=dt.date(2026, 3, 1), partner_id=pekara_id,
                net_amount=decimal.Decimal("1500.00"), gross_amount=decimal.Decimal("1875.00"),
            ),
        )  # fmt: skip
    alice, charlie, root = login_as("alice"), login_as("charlie"), login_as("root")
    made = alice.post(
        "/campaigns/new", data={"name": "Sajam", "type_id": str(type_id), "starts_on": "2026-11-02"}
    )
    campaign_id = int(made.headers["location"].rsplit("/", 1)[1])
    count_url = f"/campaigns/{campaign_id}/choose/count"

    # The live count: Split is out of alice's sight, never counted for her.
    assert _count(alice.get(count_url, params={"postal_from": "10000"}, headers=HX).text) == "2"
    assert _count(alice.get(count_url, headers=HX).text) == ""  # no criteria yet
    bad = alice.get(count_url, params={"postal_from": "21000", "postal_to": "10000"}, headers=HX)
    assert bad.status_code == 422 and "ends before it starts" in bad.text
    root_id = root.get(f"/campaigns/{campaign_id}").status_code
    assert root_id == 200
    # Root reads Croatian: 1.000,50 is a thousand.
    hr = root.get(count_url, params={"revenue_min": "1.000,50"}, headers=HX)
    assert _count(hr.text) == "1" and "1 partner odgovara." in hr.text
    page = alice.get(f"/campaigns/{campaign_id}/choose")
    assert page.status_code == 200 and 'id="criteria"' in page.text
    typed_in = alice.get(count_url, params={"city": "Zagreb"})  # the page it belongs to
    assert typed_in.status_code == 303 and "choose?city=Zagreb" in typed_in.headers["location"]

    saved = alice.post(
        f"/campaigns/{campaign_id}/criteria", data={"name": "Zagreb", "postal_from": "10000"}
    )
    assert saved.status_code == 303 and "saved_id=" in saved.headers["location"]
    reused = alice.get(saved.headers["location"]).text  # the form filled from them
    assert 'id="f-postal_from" name="postal_from" type="text" value="10000"' in reused
    assert 'data-count="2"' in reused
    nothing = alice.post(f"/campaigns/{campaign_id}/targets/freeze", data={"city": "Vukovar"})
    assert nothing.status_code == 422 and "match no partner" in nothing.text
    frozen = alice.post(f"/campaigns/{campaign_id}/targets/freeze", data={"postal_from": "10000"})
    assert frozen.status_code == 303 and "campaign_id=" in frozen.headers["location"]
    assert _targets(database, campaign_id) == {
        "Konzum d.d.": "new",
        "Pekara Dubravica d.o.o.": "new",
    }
    listed = alice.get(f"/campaigns/targets?campaign_id={campaign_id}").text
    assert "Konzum d.d." in listed and "Solana" not in listed and "2 partners added." in listed

    csv = "OIB;Naziv\n69435151530;Konzum\n12345678903;Nitko\n".encode("cp1250")
    sent = alice.post(
        f"/campaigns/{campaign_id}/targets/csv", files={"file": ("lista.csv", csv, "text/csv")}
    )
    # Konzum was on the list already; row 3 names nobody and is listed by its number.
    assert sent.status_code == 200 and "1 was on the list already" in sent.text
    assert 'data-row="3"' in sent.text and "12345678903" in sent.text
    unknown = alice.post(
        f"/campaigns/{campaign_id}/targets/csv",
        files={"file": ("lista.csv", b"OIB\n12345678903\n", "text/csv")},
    )
    assert unknown.status_code == 422 and 'data-row="2"' in unknown.text

    # By hand on the partner list (root sees Split), then taken back.
    picked = root.post(
        "/lists/partners/bulk",
        data={"action": "add_to_campaign", "ids": [str(solana_id)], "value": str(campaign_id),
              "confirm": "1", "query": ""},
    )  # fmt: skip
    assert picked.status_code == 303, picked.text
    assert "Solana Pag d.d." in _targets(database, campaign_id)
    undo = re.search(r'action="/lists/undo/(\d+)"', root.get("/partners").text)
    assert undo is not None
    assert root.post(f"/lists/undo/{undo.group(1)}", data={"query": ""}).status_code == 303
    assert "Solana Pag d.d." not in _targets(database, campaign_id)

    # A status in bulk on the target list.
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        konzum_target = session.scalar(
            select(CampaignTarget.id).where(CampaignTarget.partner_id == konzum_id)
        )
    changed = alice.post(
        "/lists/campaign_targets/bulk",
        data={"action": "status", "ids": [str(konzum_target)], "value": "interested",
              "confirm": "1", "query": f"campaign_id={campaign_id}"},
    )  # fmt: skip
    assert changed.status_code == 303 and "campaign_id" in changed.headers["location"]
    assert _targets(database, campaign_id)["Konzum d.d."] == "interested"
    detail = alice.get(f"/campaigns/{campaign_id}").text
    assert 'data-target-status="interested">1<' in detail

    # Charlie may not see the campaign: every page of its targets is a 404.
    for url in (f"/campaigns/targets?campaign_id={campaign_id}", count_url,
                f"/campaigns/{campaign_id}/choose"):  # fmt: skip
        assert charlie.get(url).status_code == 404, url
    assert (
        charlie.post(
            f"/campaigns/{campaign_id}/targets/freeze", data={"postal_from": "20000"}
        ).status_code
        == 404
    )
    assert pekara_id
