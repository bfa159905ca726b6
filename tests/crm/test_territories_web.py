"""Territories, partner groups and the assignment table in the browser: everyone with
partner rights sees them, only partner admins change them; the dry run changes nothing
and applying it leaves the rule in each partner's history."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select

from groupware.access.policy import SYSTEM
from groupware.accounts.models import User
from groupware.accounts.users import UserUpdate, update_user
from groupware.crm.models import AssignmentRule, Partner, PartnerGroup, PartnerRep, Territory
from groupware.db import Database
from groupware.history.models import Change
from tests.conftest import LiveServer
from tests.factories import (
    Cast,
    browser,
    county_id,
    login,
    make_partner,
    make_rule,
    make_territory,
    make_user,
    role_id,
)

LoginAs = Callable[[str], httpx.Client]


@pytest.fixture
def login_as(live: LiveServer, committed: Cast) -> Iterator[LoginAs]:
    clients: list[httpx.Client] = []

    def log_in(username: str) -> httpx.Client:
        client = browser(live.url)
        clients.append(client)
        client.headers["X-CSRF-Token"] = login(client, username)
        # Messages are checked in English; root would read Croatian.
        assert client.post("/language", data={"language": "en", "next": "/"}).status_code == 303
        return client

    yield log_in
    for client in clients:
        client.close()


@dataclass
class Table:
    zagreb: int  # territory Grad Zagreb (HR-21): alice, then bob
    rule: int
    alice: int
    bob: int
    charlie: int


@pytest.fixture
def table(database: Database, committed: Cast) -> Table:
    """alice, bob and charlie are sales reps; the table sends Grad Zagreb to alice and bob."""
    with database.transaction(actor_id=None, channel="cli") as session:
        for user in (committed.alice, committed.bob, committed.charlie):
            update_user(
                session,
                session.get(User, user.id),  # type: ignore[arg-type]
                UserUpdate(role_ids=[role_id(session, "sales")]),
                mail_domain="groupware.local",
            )
        zagreb = make_territory(session, "Zagreb", counties=("HR-21",))
        rule = make_rule(session, zagreb, (committed.alice, committed.bob))
        return Table(zagreb.id, rule.id, committed.alice.id, committed.bob.id, committed.charlie.id)


def add_partner(database: Database, name: str, **values: object) -> int:
    with database.transaction(actor_id=None, channel="cli") as session:
        return int(make_partner(session, SYSTEM, name, **values).id)


def add_group(database: Database, name: str) -> int:
    with database.transaction(actor_id=None, channel="cli") as session:
        group = PartnerGroup(name=name)
        session.add(group)
        session.flush()
        return group.id


def territory_form(name: str, *areas: dict[str, str], **extra: str) -> dict[str, str]:
    data = {"name": name, "description": "", "area_rows": str(len(areas) + 1), **extra}
    for i, area in enumerate(areas):
        for key in ("country", "county_id", "city", "postal_from", "postal_to"):
            data[f"areas-{i}-{key}"] = area.get(key, "")
    return data


def count(database: Database, model: type, **where: object) -> int:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int(session.scalar(query) or 0)


def owner_of(database: Database, partner_id: int) -> int | None:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return session.scalar(select(Partner.owner_id).where(Partner.id == partner_id))


def invalid_field(html: str, name: str) -> bool:
    """Whether the form marks field ``name`` as wrong."""
    return bool(re.search(rf'class="field invalid">\s*<label for="f-{name}"', html))


def flash_after(client: httpx.Client, response: httpx.Response) -> str:
    assert response.status_code == 303, response.text[:2000]
    return client.get(response.headers["location"]).text


# -- who may do what --------------------------------------------------------------------


def test_a_rep_sees_territories_and_table_but_cannot_change_them(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    alice = login_as("alice")
    page = alice.get("/territories")
    assert page.status_code == 200
    assert "Zagreb" in page.text and "Grad Zagreb" in page.text
    assert 'href="/territories"' in page.text  # in the navigation
    assert "/territories/new" not in page.text and "/edit" not in page.text
    assert alice.get(f"/territories/{table.zagreb}").status_code == 200
    assert alice.get("/partner-groups").status_code == 200
    for path in ("/territories/new", "/territories/reassign", f"/territories/{table.zagreb}/edit"):
        assert alice.get(path).status_code == 403, path
    territories_before = count(database, Territory)
    for path, data in (
        ("/territories/new", territory_form("Istra", {"county_id": "18"})),
        (f"/territories/{table.zagreb}/edit", territory_form("Renamed")),
        (f"/territories/{table.zagreb}/delete", {}),
        ("/territories/rules/new", {"territory_id": str(table.zagreb), "rep_ids": "1"}),
        (f"/territories/rules/{table.rule}/delete", {}),
        ("/territories/reassign", {"force": "1"}),
        ("/partner-groups", {"name": "Retail"}),
    ):
        response = alice.post(path, data=data)
        assert response.status_code == 403, path
        assert "not allowed" in response.text
    assert count(database, Territory) == territories_before
    assert count(database, AssignmentRule) == 1
    assert count(database, PartnerGroup) == 0


def test_a_user_without_partner_rights_does_not_see_territories(
    database: Database, committed: Cast, login_as: LoginAs
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        make_user(session, "erin", roles=())
    erin = login_as("erin")
    assert erin.get("/territories").status_code == 403
    assert 'href="/territories"' not in erin.get("/").text


# -- territories and rules -------------------------------------------------------------


def test_admin_builds_a_territory_and_rule_and_new_partners_get_its_reps(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    root = login_as("root")
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        varazdin = county_id(session, "HR-05")
    response = root.post(
        "/territories/new",
        data=territory_form(
            "Sjever",
            {"county_id": str(varazdin)},
            {"country": "HR", "postal_from": "40000", "postal_to": "40999"},
            description="Varaždin and Međimurje",
        ),
    )
    page = flash_after(root, response)
    territory_id = int(response.headers["location"].rsplit("/", 1)[1])
    assert "Territory Sjever is saved." in page
    assert "Varaždinska" in page and "40000–40999" in page

    response = root.post(
        "/territories/rules/new",
        data={
            "territory_id": str(territory_id),
            "group_id": "",
            "priority": "50",
            "rep_ids": [str(table.charlie), "", str(table.bob)],
            "rep_rows": "3",
            "is_active": "1",
            "note": "north-east",
        },
    )
    overview = flash_after(root, response)
    assert "The rule is saved." in overview
    rows = re.findall(r'<tr id="rule-\d+".*?</tr>', overview, re.S)
    sjever = next(row for row in rows if "Sjever" in row)
    assert sjever.index("Charlie") < sjever.index("Bob") and "north-east" in sjever

    in_county = add_partner(database, "Varteks d.d.", postal_code="42000", city="Varaždin")
    in_range = add_partner(database, "Čakovečki mlinovi", postal_code="40000", city="Čakovec")
    for partner_id in (in_county, in_range):
        assert owner_of(database, partner_id) == table.charlie
        assert count(database, PartnerRep, partner_id=partner_id, user_id=table.bob) == 1
    counts = root.get("/territories").text
    assert re.search(rf'href="/partners\?territory_id={territory_id}">2<', counts)


def test_editing_a_territory_and_a_rule_keeps_what_was_not_changed(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    root = login_as("root")
    form = root.get(f"/territories/{table.zagreb}/edit").text
    assert 'name="areas-0-county_id"' in form and 'name="areas-1-county_id"' in form
    data = territory_form(
        "Zagreb grad",
        {"country": "HR", "county_id": str(county_id_of(database, "HR-21"))},
        {"city": "Velika Gorica", "country": "HR"},
    )
    flash_after(root, root.post(f"/territories/{table.zagreb}/edit", data=data))
    page = root.get(f"/territories/{table.zagreb}").text
    assert "Zagreb grad" in page and "Grad Zagreb" in page and "Velika Gorica" in page

    edit = root.get(f"/territories/rules/{table.rule}/edit").text
    assert re.search(rf'id="f-rep-1".*?value="{table.alice}" selected', edit, re.S)
    response = root.post(
        f"/territories/rules/{table.rule}/edit",
        data={"territory_id": str(table.zagreb), "priority": "7", "rep_ids": [str(table.bob)]},
    )
    flash_after(root, response)
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        rule = session.get(AssignmentRule, table.rule)
        assert rule is not None
        assert (rule.priority, rule.is_active, [r.user_id for r in rule.reps]) == (
            7,
            False,
            [table.bob],
        )
    flash = flash_after(root, root.post(f"/territories/rules/{table.rule}/delete"))
    assert "The rule is deleted." in flash
    assert count(database, AssignmentRule) == 0


def county_id_of(database: Database, code: str) -> int:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return county_id(session, code)


def test_add_another_area_shows_one_more_row_and_saves_nothing(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    root = login_as("root")
    form = root.get("/territories/new").text
    assert form.count('name="areas-') == 3 * 6  # three empty rows of six inputs
    data = territory_form("Istra", {"city": "Pula", "country": "HR"}, add_area="1")
    response = root.post("/territories/new", data=data)
    assert response.status_code == 200
    assert 'name="areas-2-city"' in response.text and 'value="Pula"' in response.text
    assert 'value="Istra"' in response.text
    assert count(database, Territory, name="Istra") == 0


def test_a_postal_range_that_ends_before_it_starts_is_refused(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    root = login_as("root")
    data = territory_form(
        "Jug",
        {},  # an empty row is skipped: errors still land on the row they belong to
        {"country": "HR", "postal_from": "21999", "postal_to": "20000"},
        {"country": "XX", "city": "Nowhere"},
    )
    response = root.post("/territories/new", data=data)
    assert response.status_code == 422
    assert "The postal range ends before it starts." in response.text
    assert "Choose a country." in response.text
    row_1 = response.text.split("<legend>Area 2</legend>")[1].split("</fieldset>")[0]
    assert "The postal range ends before it starts." in row_1
    row_2 = response.text.split("<legend>Area 3</legend>")[1].split("</fieldset>")[0]
    assert "Choose a country." in row_2
    assert count(database, Territory, name="Jug") == 0

    taken = root.post("/territories/new", data=territory_form("zagreb"))
    assert taken.status_code == 422 and "Another territory has this name." in taken.text
    blank = root.post("/territories/new", data=territory_form(""))
    assert blank.status_code == 422 and invalid_field(blank.text, "name")


def test_a_rule_needs_a_territory_and_distinct_reps(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    root = login_as("root")
    nobody = root.post("/territories/rules/new", data={"territory_id": "", "priority": "1"})
    assert nobody.status_code == 422
    assert "Choose at least one rep." in nobody.text
    twice = root.post(
        "/territories/rules/new",
        data={"territory_id": "", "rep_ids": [str(table.bob), str(table.bob)]},
    )
    assert twice.status_code == 422
    assert invalid_field(twice.text, "territory_id")
    twice = root.post(
        "/territories/rules/new",
        data={"territory_id": str(table.zagreb), "rep_ids": [str(table.bob), str(table.bob)]},
    )
    assert twice.status_code == 422 and "Each rep can be named once." in twice.text
    assert count(database, AssignmentRule) == 1
    more = root.post(
        "/territories/rules/new",
        data={"territory_id": str(table.zagreb), "rep_rows": "3", "add_rep": "1"},
    )
    assert more.status_code == 200 and 'id="f-rep-4"' in more.text


def test_deleting_a_territory_with_partners_is_refused(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    add_partner(database, "Konzum d.d.")
    root = login_as("root")
    response = root.post(f"/territories/{table.zagreb}/delete")
    assert response.status_code == 422
    assert "Partners are still in this territory" in response.text
    assert count(database, Territory, id=table.zagreb) == 1
    assert count(database, AssignmentRule) == 1

    empty = make_empty_territory(database)
    flash = flash_after(root, root.post(f"/territories/{empty}/delete"))
    assert "Territory Prazno is deleted." in flash
    assert count(database, Territory, id=empty) == 0


def make_empty_territory(database: Database) -> int:
    with database.transaction(actor_id=None, channel="cli") as session:
        return int(make_territory(session, "Prazno", counties=("HR-19",)).id)


# -- the unassigned queue, dry run and apply ---------------------------------------------


def test_partners_no_rule_covers_show_as_a_notice_linking_to_the_queue(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    root = login_as("root")
    assert "Every partner has a rep." in root.get("/territories").text
    add_partner(database, "Splitska tvrtka", postal_code="21000", city="Split")
    add_partner(database, "Zagrebačka tvrtka")
    notice = root.get("/territories").text.split('id="unassigned"')[1].split("</p>")[0]
    assert 'href="/partners?unassigned=1"' in notice and "1 partner has no rep." in notice


def test_dry_run_shows_what_a_new_rule_would_change_and_apply_records_it(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    retail = add_group(database, "Retail")
    shop = add_partner(database, "Dućan d.o.o.", group_id=retail)
    office = add_partner(database, "Ured d.o.o.")
    assert owner_of(database, shop) == table.alice
    root = login_as("root")
    response = root.post(
        "/territories/rules/new",
        data={
            "territory_id": str(table.zagreb),
            "group_id": str(retail),
            "priority": "10",
            "rep_ids": [str(table.charlie)],
            "is_active": "1",
        },
    )
    flash_after(root, response)
    new_rule = int(response.headers["location"].rsplit("-", 1)[1])
    overview = root.get("/territories").text
    assert overview.index(f'id="rule-{new_rule}"') < overview.index(f'id="rule-{table.rule}"')

    preview = root.get("/territories/reassign")
    assert preview.status_code == 200
    assert "1 partner would change." in preview.text
    assert f'href="/partners/{shop}"' in preview.text
    assert f'href="/partners/{office}"' not in preview.text
    row = preview.text.split(f'href="/partners/{shop}"')[1].split("</tr>")[0]
    assert re.search(r"Alice\s*→\s*<strong>Charlie</strong>", row) and "Retail" in row
    assert owner_of(database, shop) == table.alice  # the dry run changed nothing

    flash = flash_after(root, root.post("/territories/reassign", data={}))
    assert "1 partner got new reps or a new territory." in flash
    assert owner_of(database, shop) == table.charlie
    assert owner_of(database, office) == table.alice
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        changes = session.scalars(
            select(Change).where(Change.record_type == "partners", Change.record_id == shop)
        ).all()
        applied = [
            c for c in changes if c.changes.get("assignment_rule_id", [None, None])[1] == new_rule
        ]
        assert applied and applied[-1].changes["owner_id"] == [table.alice, table.charlie]
        assert applied[-1].channel == "web"
    assert "nothing would change" in root.get("/territories/reassign").text


def test_hand_chosen_reps_change_only_when_the_admin_asks(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    partner = add_partner(database, "Ručno d.o.o.")
    with database.transaction(actor_id=None, channel="cli") as session:
        row = session.get(Partner, partner)
        assert row is not None
        row.owner_id, row.manual_assignment = table.charlie, True
    root = login_as("root")
    assert "nothing would change" in root.get("/territories/reassign").text
    forced = root.get("/territories/reassign?force=1").text
    assert "1 partner would change." in forced and 'name="force" value="1"' in forced
    flash_after(root, root.post("/territories/reassign", data={"force": "1"}))
    assert owner_of(database, partner) == table.alice


# -- partner groups --------------------------------------------------------------------------


def test_partner_groups_are_listed_with_counts_and_edited_by_admins(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    root = login_as("root")
    flash = flash_after(root, root.post("/partner-groups", data={"name": "Veleprodaja"}))
    assert "Partner group Veleprodaja is created." in flash
    taken = root.post("/partner-groups", data={"name": "veleprodaja"})
    assert taken.status_code == 422 and "Another partner group has this name." in taken.text
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        group = session.scalar(select(PartnerGroup.id).where(PartnerGroup.name == "Veleprodaja"))
    assert group is not None
    add_partner(database, "Grossist d.d.", group_id=group)
    listing = login_as("alice").get("/partner-groups").text
    assert re.search(rf'href="/partners\?group_id={group}">1<', listing)
    assert "/edit" not in listing

    flash = flash_after(
        root,
        root.post(
            f"/partner-groups/{group}/edit", data={"name": "Wholesale", "description": "B2B"}
        ),
    )
    assert "Partner group Wholesale is saved." in flash and "B2B" in flash


def test_a_group_in_use_cannot_be_deleted(
    database: Database, table: Table, login_as: LoginAs
) -> None:
    used = add_group(database, "Retail")
    named = add_group(database, "Online")
    unused = add_group(database, "Spare")
    add_partner(database, "Dućan d.o.o.", group_id=used)
    with database.transaction(actor_id=None, channel="cli") as session:
        territory = session.get(Territory, table.zagreb)
        make_rule(session, territory, (session.get(User, table.bob),), group_id=named)
    root = login_as("root")
    response = root.post(f"/partner-groups/{used}/delete")
    assert response.status_code == 422
    assert "Partners are still in this group" in response.text
    response = root.post(f"/partner-groups/{named}/delete")
    assert response.status_code == 422
    assert "Rules of the assignment table name this group" in response.text
    assert count(database, PartnerGroup) == 3
    flash = flash_after(root, root.post(f"/partner-groups/{unused}/delete"))
    assert "Partner group Spare is deleted." in flash
    assert count(database, PartnerGroup) == 2
