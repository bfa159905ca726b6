"""Persons and branches pages through a real server: forms, validation and access."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
from sqlalchemy import func, select

from groupware.crm.models import Branch, Person
from groupware.db import Database, utcnow
from groupware.history.models import Change
from tests.conftest import LoginAs
from tests.crm.test_partner360_web import World, world
from tests.factories import Cast

__all__ = ["world"]  # a fixture used here


def person_count(database: Database) -> int:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return session.scalar(select(func.count()).select_from(Person)) or 0


def add_person(client: httpx.Client, to: int, **values: str) -> httpx.Response:
    data = {"first_name": "Marko", "last_name": "Marić", "function": "Direktor", "email": ""}
    return client.post(f"/partners/{to}/persons/new", data={**data, **values})


@pytest.fixture
def alice(login_as: LoginAs) -> httpx.Client:
    return login_as("alice")


def test_a_rep_adds_a_person_and_history_records_it(
    world: World, alice: httpx.Client, committed: Cast, database: Database
) -> None:
    form = alice.get(f"/partners/{world.konzum}/persons/new")
    assert form.status_code == 200 and "Skladište Sesvete" in form.text  # branch select
    created = add_person(alice, world.konzum, email="Marko@Konzum.hr", mailing_consent="1")
    assert created.status_code == 303
    assert created.headers["location"] == f"/partners/{world.konzum}"
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        person = session.scalars(select(Person).where(Person.last_name == "Marić")).one()
        assert (person.partner_id, person.email, person.mailing_consent) == (
            world.konzum,
            "marko@konzum.hr",
            True,
        )
        change = session.scalars(
            select(Change).where(Change.record_type == "persons", Change.record_id == person.id)
        ).one()
        assert (change.action, change.channel, change.actor_id) == (
            "create",
            "web",
            committed.alice.id,
        )
    page = alice.get(f"/persons/{person.id}")
    assert page.status_code == 200
    assert "Marko Marić" in page.text and "Konzum d.d." in page.text
    assert f"/records/persons/{person.id}/history" in page.text
    assert "Marko Marić" in alice.get(f"/partners/{world.konzum}").text


def test_invalid_person_gets_422_and_nothing_is_saved(
    world: World, alice: httpx.Client, database: Database, committed: Cast
) -> None:
    before = person_count(database)
    response = add_person(alice, world.konzum, last_name="", email="not an address")
    assert response.status_code == 422
    assert "This field is required." in response.text
    assert "Enter an e-mail address." in response.text
    assert 'value="Marko"' in response.text  # what was typed stays in the form
    # A branch of another partner is refused, whatever the form says.
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        branch_id = session.scalar(select(Branch.id))
    unknown_branch = add_person(alice, world.konzum, branch_id="999999")
    assert unknown_branch.status_code == 422
    assert "Choose a branch of this partner." in unknown_branch.text
    # The partner comes from the address: a partner_id in the form changes nothing.
    sneaky = add_person(alice, world.konzum, partner_id=str(world.split), branch_id=str(branch_id))
    assert sneaky.status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.scalar(select(Person.partner_id).where(Person.last_name == "Marić")) == (
            world.konzum
        )
    assert person_count(database) == before + 1


def test_charlie_cannot_add_change_or_see_persons_of_alices_partner(
    world: World, login_as: LoginAs, database: Database
) -> None:
    charlie = login_as("charlie")
    before = person_count(database)
    assert charlie.get(f"/partners/{world.konzum}/persons/new").status_code == 404
    assert add_person(charlie, world.konzum).status_code == 404
    assert charlie.get(f"/persons/{world.person}").status_code == 404
    assert charlie.post(f"/persons/{world.person}/edit", data={"last_name": "X"}).status_code == 404
    assert charlie.post(f"/persons/{world.person}/delete").status_code == 404
    assert charlie.post(f"/persons/{world.person}/opt-out").status_code == 404
    assert "Horvat" not in charlie.get("/persons").text
    assert person_count(database) == before
    # His own partner is his to fill.
    assert add_person(charlie, world.split).status_code == 303


def test_a_reader_sees_a_person_but_may_not_change_it(
    world: World, login_as: LoginAs, committed: Cast, database: Database
) -> None:
    from groupware.access.shares import share
    from groupware.crm.models import Partner

    with database.transaction(actor_id=None, channel="cli") as session:
        partner = session.get(Partner, world.konzum)
        share(session, partner, by_user_id=None, user_id=committed.charlie.id)  # type: ignore[arg-type]
    charlie = login_as("charlie")
    page = charlie.get(f"/persons/{world.person}")
    assert page.status_code == 200 and f"/persons/{world.person}/edit" not in page.text
    assert charlie.post(f"/persons/{world.person}/edit", data={"last_name": "X"}).status_code == 403
    assert add_person(charlie, world.konzum).status_code == 403


def test_editing_and_opting_out_record_the_time(
    world: World, alice: httpx.Client, database: Database
) -> None:
    edit = alice.get(f"/persons/{world.person}/edit")
    assert edit.status_code == 200 and 'value="Horvat"' in edit.text and "checked" in edit.text
    saved = alice.post(
        f"/persons/{world.person}/edit",
        data={
            "first_name": "Ivana",
            "last_name": "Horvat",
            "function": "Uprava",
            "mailing_consent": "1",
        },
    )
    assert saved.status_code == 303
    started = utcnow() - dt.timedelta(seconds=5)
    opted = alice.post(f"/persons/{world.person}/opt-out")
    assert opted.status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        person = session.get(Person, world.person)
        assert person is not None and person.function == "Uprava"
        assert person.mailing_consent is False
        assert person.opted_out_at is not None and person.opted_out_at >= started
        fields = [
            set(c.changes)
            for c in session.scalars(
                select(Change).where(Change.record_type == "persons", Change.record_id == person.id)
            )
        ]
        assert {"mailing_consent", "opted_out_at"} <= fields[-1]
    page = alice.get(f"/persons/{world.person}").text
    assert "opted out on" in page and "/opt-out" not in page


def test_deleting_a_person_goes_back_to_the_partner(
    world: World, alice: httpx.Client, database: Database
) -> None:
    response = alice.post(f"/persons/{world.person}/delete")
    assert (
        response.status_code == 303 and response.headers["location"] == f"/partners/{world.konzum}"
    )
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.get(Person, world.person) is None
    assert alice.get(f"/persons/{world.person}").status_code == 404


def test_the_persons_list_searches_and_pages(
    world: World, alice: httpx.Client, login_as: LoginAs
) -> None:
    for index in range(55):
        assert add_person(alice, world.konzum, last_name=f"Kolega {index:02d}").status_code == 303
    first = alice.get("/persons")
    assert first.status_code == 200
    # the persons' own pages (the header's "+" menu links /persons/new too)
    persons = re.compile(r'href="/persons/\d+"')
    assert len(persons.findall(first.text)) == 50 and "offset=50" in first.text
    rest = alice.get("/persons?offset=50")
    assert len(persons.findall(rest.text)) == 6 and "offset=100" not in rest.text
    found = alice.get("/persons", params={"q": "horv"}, headers={"HX-Request": "true"})
    assert "Ivana Horvat" in found.text and "Kolega" not in found.text
    assert "<html" not in found.text  # the htmx fragment only
    boosted = alice.get("/persons", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text  # a boosted link gets the whole page
    assert "Ivana Horvat" not in login_as("charlie").get("/persons?q=horv").text


def test_branches_are_added_edited_and_deleted(
    world: World, alice: httpx.Client, login_as: LoginAs, database: Database
) -> None:
    refused = alice.post(
        f"/partners/{world.konzum}/branches/new",
        data={"name": "", "country": "HR", "email": "x"},
    )
    assert refused.status_code == 422 and "This field is required." in refused.text
    created = alice.post(
        f"/partners/{world.konzum}/branches/new",
        data={
            "name": "Poslovnica Split",
            "postal_code": "21 000",
            "city": "Split",
            "country": "HR",
        },
    )
    assert created.status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        branch = session.scalars(select(Branch).where(Branch.name == "Poslovnica Split")).one()
        assert branch.postal_code == "21000" and branch.county is not None
        assert branch.county.code == "HR-17"  # derived from the postal code
    page = alice.get(f"/branches/{branch.id}")
    assert page.status_code == 200 and "Splitsko-dalmatinska" in page.text
    assert login_as("charlie").get(f"/branches/{branch.id}").status_code == 404
    edited = alice.post(
        f"/branches/{branch.id}/edit",
        data={
            "name": "Poslovnica Split 2",
            "postal_code": "21000",
            "city": "Split",
            "country": "HR",
        },
    )
    assert edited.status_code == 303
    # A person can be put at the branch.
    assert add_person(alice, world.konzum, branch_id=str(branch.id)).status_code == 303
    assert "Marko Marić" in alice.get(f"/branches/{branch.id}").text
    assert alice.post(f"/branches/{branch.id}/delete").status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.get(Branch, branch.id) is None
        marko = session.scalars(select(Person).where(Person.last_name == "Marić")).one()
        assert marko.branch_id is None  # the person stays with the partner
