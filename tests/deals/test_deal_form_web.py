"""The deal form through the real server: money and quantities are typed and shown the
way the user's language writes them (``12.500,50`` in Croatian, ``12,500.50`` in
English) while the API keeps machine numbers, and the type list follows the direction."""

from __future__ import annotations

import decimal
import re

import httpx
import pytest
from sqlalchemy import select, update

from groupware.access.policy import SYSTEM
from groupware.accounts.models import User
from groupware.db import Database
from groupware.deals.models import Deal
from groupware.deals.types import StepIn, TypeIn, save_type
from tests.api.helpers import Api
from tests.conftest import LoginAs
from tests.crm.conftest import Sales
from tests.factories import make_partner

D = decimal.Decimal


@pytest.fixture
def kinds(sales: Sales, database: Database) -> dict[str, int]:
    """A sale type, a purchase type, one for both directions, and a Zagreb partner."""
    ids: dict[str, int] = {}
    with database.transaction(actor_id=None, channel="cli") as session:
        for name, direction in (("Maloprodaja", "sale"), ("Nabava", "purchase"), ("Servis", None)):
            data = TypeIn(
                name=name,
                direction=direction,  # type: ignore[arg-type]
                phases=[StepIn(name="Upit", planned_days=5)],
            )
            ids[name] = save_type(session, SYSTEM, None, data).id
        ids["partner"] = make_partner(session, SYSTEM, "Konzum d.d.", postal_code="10000").id
    return ids


def speaks(database: Database, username: str, language: str) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        session.execute(update(User).where(User.username == username).values(language=language))


def form(kinds: dict[str, int], **values: str | list[str]) -> dict[str, str | list[str]]:
    return {
        "title": "Blagajne",
        "direction": "sale",
        "partner_id": str(kinds["partner"]),
        "type_id": str(kinds["Maloprodaja"]),
        "currency": "EUR",
        "probability": "40",
        "started_on": "2026-03-02",
        **values,
    }


def saved(database: Database, title: str) -> Deal:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.scalar(select(Deal).where(Deal.title == title))
        assert row is not None
        return row


def value_of(html: str, name: str) -> list[str]:
    """The values the form's inputs called ``name`` are filled with."""
    return re.findall(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html)


def create(client: httpx.Client, data: dict[str, str | list[str]]) -> httpx.Response:
    return client.post("/deals/new", data=data)


def test_croatian_amounts_and_quantities_are_read_and_shown_back_the_croatian_way(
    kinds: dict[str, int], login_as: LoginAs, database: Database
) -> None:
    speaks(database, "alice", "hr")
    alice = login_as("alice")
    assert create(alice, form(kinds, title="Bez točaka", amount="12500,50")).status_code == 303
    assert saved(database, "Bez točaka").amount == D("12500.50")
    assert create(alice, form(kinds, title="S točkama", amount="12.500,50")).status_code == 303
    deal = saved(database, "S točkama")
    assert deal.amount == D("12500.50")
    assert value_of(alice.get(f"/deals/{deal.id}/edit").text, "amount") == ["12.500,50"]

    lines = {
        "line_description": ["Blagajna", "Ugradnja"],
        "line_quantity": ["1,5", "2"],
        "line_price": ["1.200,00", "99,9"],
    }
    assert create(alice, form(kinds, title="Stavke", **lines)).status_code == 303
    deal = saved(database, "Stavke")
    assert deal.amount == D("1999.80")  # 1,5 × 1.200,00 + 2 × 99,90
    page = alice.get(f"/deals/{deal.id}/edit").text
    assert value_of(page, "line_quantity")[:2] == ["1,5", "2"]
    assert value_of(page, "line_price")[:2] == ["1.200,00", "99,90"]
    assert value_of(page, "amount") == ["1.999,80"]
    # Saving the form as it was shown back changes nothing.
    shown = {
        **form(kinds, title="Stavke", amount="1.999,80"),
        "line_description": ["Blagajna", "Ugradnja"],
        "line_quantity": value_of(page, "line_quantity")[:2],
        "line_price": value_of(page, "line_price")[:2],
    }
    assert alice.post(f"/deals/{deal.id}/edit", data=shown).status_code == 303
    assert saved(database, "Stavke").amount == D("1999.80")


@pytest.mark.parametrize("typed", ["12.50", "12,500.50", "12 €", "1e5", "NaN", "dvanaest"])
def test_a_number_not_written_the_croatian_way_is_refused_with_an_example(
    typed: str, kinds: dict[str, int], login_as: LoginAs, database: Database
) -> None:
    speaks(database, "alice", "hr")
    alice = login_as("alice")
    refused = create(alice, form(kinds, amount=typed))
    assert refused.status_code == 422
    assert "Unesite broj, npr. 12.500,50." in refused.text
    assert value_of(refused.text, "amount") == [typed]  # what was typed stays in the form
    line = create(alice, form(kinds, line_description=["Blagajna"], line_price=[typed]))
    assert line.status_code == 422 and "Unesite broj, npr. 12.500,50." in line.text


def test_wrong_whole_numbers_and_too_many_decimals_get_a_message_in_the_language(
    kinds: dict[str, int], login_as: LoginAs, database: Database
) -> None:
    speaks(database, "alice", "hr")
    alice = login_as("alice")
    whole = create(alice, form(kinds, probability="12,5"))
    assert whole.status_code == 422 and "Unesite cijeli broj, npr. 25." in whole.text
    cents = create(alice, form(kinds, amount="12.500,505"))
    assert cents.status_code == 422 and "Najviše 2 decimale." in cents.text
    huge = create(alice, form(kinds, amount="1.000.000.000.000.000,00"))
    assert huge.status_code == 422 and "Ovaj broj je prevelik." in huge.text
    assert create(alice, form(kinds, probability="40")).status_code == 303


def test_english_amounts_are_read_and_shown_back_the_english_way(
    kinds: dict[str, int], login_as: LoginAs, database: Database
) -> None:
    speaks(database, "alice", "en")
    alice = login_as("alice")
    assert create(alice, form(kinds, title="Grouped", amount="12,500.50")).status_code == 303
    deal = saved(database, "Grouped")
    assert deal.amount == D("12500.50")
    assert value_of(alice.get(f"/deals/{deal.id}/edit").text, "amount") == ["12,500.50"]
    refused = create(alice, form(kinds, title="Croatian", amount="12500,50"))
    assert refused.status_code == 422 and "Enter a number such as 12,500.50." in refused.text


def test_the_api_keeps_machine_numbers_whatever_the_users_language(
    kinds: dict[str, int], api: Api, database: Database
) -> None:
    speaks(database, "alice", "hr")
    body = {
        "title": "API",
        "partner_id": kinds["partner"],
        "type_id": kinds["Maloprodaja"],
        "started_on": "2026-03-02",
    }
    made = api("alice").post("/deals", json={**body, "amount": "12500.50"})
    assert made.status_code == 201 and made.json()["amount"] == "12500.50"
    made = api("alice").post("/deals", json={**body, "amount": 12500.5})
    assert made.status_code == 201 and D(made.json()["amount"]) == D("12500.50")
    refused = api("alice").post("/deals", json={**body, "amount": "12.500,50"})
    assert refused.status_code == 422 and "amount" in refused.json()["error"]["fields"]


def test_the_type_list_offers_the_types_of_the_deals_direction(
    kinds: dict[str, int], login_as: LoginAs, database: Database
) -> None:
    alice = login_as("alice")
    page = alice.get("/deals/new", params={"partner_id": kinds["partner"]}).text
    offered = re.findall(r'<option value="(\d+)" data-direction="(\w*)"( hidden disabled)?', page)
    assert {int(i): (d, bool(off)) for i, d, off in offered} == {
        kinds["Maloprodaja"]: ("sale", False),
        kinds["Nabava"]: ("purchase", True),
        kinds["Servis"]: ("", False),
    }
    assert 'src="/static/deal_form.js"' in page
    # Without the script a mismatch is still refused, and the chosen type stays visible
    # next to the reason.
    wrong = create(alice, form(kinds, direction="sale", type_id=str(kinds["Nabava"])))
    assert wrong.status_code == 422 and "This type is not for this direction." in wrong.text
    assert f'<option value="{kinds["Nabava"]}" data-direction="purchase" selected>' in wrong.text
    purchase = create(alice, form(kinds, direction="purchase", type_id=str(kinds["Nabava"])))
    assert purchase.status_code == 303
    deal = saved(database, "Blagajne")
    edit = alice.get(f"/deals/{deal.id}/edit").text
    assert f'<option value="{kinds["Maloprodaja"]}" data-direction="sale" hidden disabled>' in edit


def test_a_refused_form_names_no_partner_out_of_sight(
    kinds: dict[str, int], login_as: LoginAs
) -> None:
    """Charlie (Dalmatia) names a Zagreb partner by its id and types a bad amount: the
    form comes back refused, without that partner's name or persons."""
    response = create(login_as("charlie"), form(kinds, title="Tuđi kupac", amount="mnogo"))
    assert response.status_code == 422
    assert "Konzum" not in response.text
