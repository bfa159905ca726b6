"""Import ergonomics: group names the database lacks (named in each refused row, listed
by the check, created by an administrator or taken as existing groups on the page,
the API and the command line), a "VAT ID" column of bare OIBs, and a key without a
column."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select, update

from groupware.access.policy import load_who
from groupware.accounts.models import User
from groupware.crm.importing import imports
from groupware.crm.models import ImportJob, Partner, PartnerGroup
from groupware.db import Database
from groupware.errors import Invalid
from groupware.i18n import use_language
from tests.api.helpers import Api
from tests.api.test_openapi import Contract
from tests.browser.test_shell import chromium
from tests.conftest import LiveServer
from tests.crm.conftest import Sales
from tests.crm.test_imports import (
    croatian_csv,
    job_of,
    make_oib,
    problems_of,
    root_id,
    start_job,
)
from tests.crm.test_imports_api import send_file, wait_until_stopped
from tests.factories import PASSWORD

__all__ = ["chromium", "root_id"]  # fixtures used here

# A first import: two of its three group names (one written twice) are not groups yet.
GROUP_ROWS = [
    f"Pekara Šimić d.o.o.;{make_oib(1000000011)};Ilica 12;10000;Zagreb;;;;Veleprodaja",
    f"Mlin Horvat d.o.o.;{make_oib(1000000012)};Ilica 13;10000;Zagreb;;;;VELEPRODAJA",
    f"Kavana Split d.o.o.;{make_oib(1000000013)};Riva 1;21000;Split;;;;Ugostitelji",
    f"Hotel Osijek d.d.;{make_oib(1000000014)};Trg 2;31000;Osijek;;;;HoReCa",
]


def group_of(database: Database) -> dict[str, str | None]:
    """Partner name -> the name of its group."""
    with database.session() as session:
        groups = {g.id: g.name for g in session.scalars(select(PartnerGroup))}
        return {p.name: groups.get(p.group_id or 0) for p in session.scalars(select(Partner))}


def group_names(database: Database) -> set[str]:
    with database.session() as session:
        return set(session.scalars(select(PartnerGroup.name)))


def set_groups(database: Database, username: str, job_id: int, **choices: object) -> None:
    with database.transaction(actor_id=None, channel="web") as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        job = session.get(ImportJob, job_id)
        assert job is not None
        imports.set_groups(
            session,
            load_who(session, user),
            job,
            group_map=choices.get("group_map", {}),  # type: ignore[arg-type]
            create=choices.get("create", False),  # type: ignore[arg-type]
        )


def test_the_check_names_each_unknown_group_and_an_administrator_creates_or_maps_them(
    database: Database, root_id: int, sales: Sales, tmp_path: Path
) -> None:
    job_id = start_job(database, root_id, croatian_csv(tmp_path / "p.csv", GROUP_ROWS))
    imports.run_job(database, job_id, "validate")
    problems = problems_of(database, job_id)
    assert [(r, c) for r, c, _m in problems] == [(2, "Grupa"), (3, "Grupa"), (4, "Grupa")]
    assert problems[0][2] == "Ne postoji grupa partnera „Veleprodaja”."  # root reads Croatian
    assert problems[2][2] == "Ne postoji grupa partnera „Ugostitelji”."
    validated = job_of(database, job_id).summary["validated"]
    assert validated["unknown_groups"] == {"Veleprodaja": 2, "Ugostitelji": 1}

    set_groups(
        database, "root", job_id, create=["Veleprodaja"], group_map={"Ugostitelji": sales.horeca}
    )
    imports.run_job(database, job_id, "validate")
    assert problems_of(database, job_id) == []
    validated = job_of(database, job_id).summary["validated"]
    assert (validated["created"], validated["new_groups"]) == (4, ["Veleprodaja"])
    assert "unknown_groups" not in validated
    assert "Veleprodaja" not in group_names(database)  # a check creates nothing

    assert imports.run_job(database, job_id, "commit").status == "done"
    assert group_of(database) == {
        "Pekara Šimić d.o.o.": "Veleprodaja",
        "Mlin Horvat d.o.o.": "Veleprodaja",
        "Kavana Split d.o.o.": "HoReCa",
        "Hotel Osijek d.d.": "HoReCa",
    }


def test_only_an_administrator_may_create_groups_and_a_refused_import_creates_none(
    database: Database, root_id: int, sales: Sales, tmp_path: Path
) -> None:
    rows = [*GROUP_ROWS, "Loš OIB;12345678901;;10000;Zagreb;;;;"]
    job_id = start_job(database, root_id, croatian_csv(tmp_path / "p.csv", rows))
    with pytest.raises(Invalid) as refused:
        set_groups(database, "alice", job_id, create=True)
    assert "administrator" in str(refused.value.errors["groups"])

    set_groups(database, "root", job_id, create=True)
    with pytest.raises(Invalid):
        imports.run_job(database, job_id, "commit")  # the bad OIB refuses the file
    assert group_names(database) == {"HoReCa"}


def test_a_vat_id_column_of_bare_oibs_is_the_oib_and_a_prefixed_one_stays_the_vat_id(
    database: Database, root_id: int, tmp_path: Path
) -> None:
    oibs = [make_oib(1000000021), make_oib(1000000022)]
    bare = croatian_csv(
        tmp_path / "bare.csv",
        [f"Alpha Ltd;{oibs[0]};Zagreb", f"Beta Ltd;{oibs[1]};Split", "Gamma Ltd;;Split"],
        header="Company name;VAT ID;City",
        encoding="utf-8",
    )
    job = job_of(database, start_job(database, root_id, bare))
    assert (job.mapping["fields"], job.key) == (["name", "oib", "city"], "oib")
    taxed = croatian_csv(
        tmp_path / "tax.csv",
        [f"Alpha Ltd;{oibs[0]};Zagreb"],
        header="Company name;Tax number;City",
        encoding="utf-8",
    )
    job = job_of(database, start_job(database, root_id, taxed))
    assert job.mapping["fields"] == ["name", "oib", "city"]
    prefixed = croatian_csv(
        tmp_path / "vat.csv",
        [f"Alpha Ltd;HR{oibs[0]};Zagreb;A-1"],
        header="Company name;VAT ID;City;ERP ID",
        encoding="utf-8",
    )
    job = job_of(database, start_job(database, root_id, prefixed))
    # No OIB column: the key is the first the file has a column for.
    assert (job.mapping["fields"], job.key) == (
        ["name", "vat_id", "city", "external_id"],
        "external_id",
    )


def test_a_key_without_a_column_says_which_column_to_map_and_how(
    database: Database, root_id: int, tmp_path: Path
) -> None:
    source = croatian_csv(tmp_path / "p.csv", ["Alpha;Zagreb"], header="Naziv;Mjesto")
    with use_language("en"):
        with pytest.raises(Invalid) as refused:
            start_job(database, root_id, source, key="oib")
        message = str(refused.value.errors["key"])
    assert message == (
        "No column is mapped to OIB, the key chosen to find existing records: choose OIB as "
        "the field of the column that holds it (on the command line: --map 'COLUMN=oib'), "
        "or find records by External id / E-mail instead (--key)."
    )


# -- the API ------------------------------------------------------------------------


@pytest.fixture
def contract(api: Api) -> Contract:
    return Contract(api.anonymous.get("/openapi.json").json())


def test_the_api_lists_unknown_groups_and_creates_or_maps_them(
    api: Api, sales: Sales, contract: Contract, database: Database, tmp_path: Path
) -> None:
    root = api("root")
    job = send_file(root, contract, croatian_csv(tmp_path / "p.csv", GROUP_ROWS)).json()
    one = {"import_id": job["id"]}
    contract.call(root, "POST", "/imports/{import_id}/validate", **one, json={}, expect=202)
    checked = wait_until_stopped(root, contract, job["id"])
    assert checked["unknown_groups"] == {"Veleprodaja": 2, "Ugostitelji": 1}
    assert checked["errors"][0]["message"] == "Ne postoji grupa partnera „Veleprodaja”."

    alice = api("alice")
    mine = send_file(alice, contract, croatian_csv(tmp_path / "a.csv", GROUP_ROWS)).json()
    contract.call(
        alice,
        "POST",
        "/imports/{import_id}/validate",
        import_id=mine["id"],
        json={"create_groups": True},
        expect=422,
    )

    body = {"create_groups": ["Veleprodaja"], "group_map": {"Ugostitelji": sales.horeca}}
    contract.call(root, "POST", "/imports/{import_id}/validate", **one, json=body, expect=202)
    checked = wait_until_stopped(root, contract, job["id"])
    assert (checked["error_rows"], checked["unknown_groups"]) == (0, {})
    assert (checked["create_groups"], checked["group_map"]) == (
        ["Veleprodaja"],
        {"Ugostitelji": sales.horeca},
    )
    contract.call(root, "POST", "/imports/{import_id}/commit", **one, expect=202)
    assert wait_until_stopped(root, contract, job["id"])["status"] == "done"
    assert group_of(database)["Pekara Šimić d.o.o."] == "Veleprodaja"


# -- the page -----------------------------------------------------------------------


@pytest.mark.browser
def test_in_a_browser_an_administrator_creates_the_missing_groups_from_the_check(
    chromium: Browser, live: LiveServer, sales: Sales, database: Database, tmp_path: Path
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        session.execute(update(User).where(User.username == "root").values(language="en"))
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live.url}/login?next=/imports")
    page.fill("#username", "root")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.url}/imports")

    page.set_input_files("#f-file", str(croatian_csv(tmp_path / "prvi.csv", GROUP_ROWS)))
    page.click("button:has-text('Upload')")
    page.click("button:has-text('Check the file')")
    card = page.locator("[data-testid=unknown-groups]")
    expect(card).to_contain_text("Groups that do not exist", timeout=30_000)
    expect(card).to_contain_text("Veleprodaja")
    expect(page.locator("[data-testid=problems]")).to_contain_text(
        'There is no partner group "Ugostitelji".'
    )
    page.select_option(
        "select[aria-label='What the group Ugostitelji is']", label="The group HoReCa"
    )
    # "Veleprodaja" keeps the administrator's default: a new group of this name.
    page.click("button:has-text('Apply and check again')")
    expect(page.locator("[data-testid=would-create]")).to_have_text("4", timeout=30_000)
    expect(card).to_have_count(0)
    page.click("button:has-text('Import 4 rows')")
    expect(page.locator("[data-testid=created]")).to_have_text("4", timeout=30_000)
    assert errors == []
    context.close()
    assert group_of(database)["Kavana Split d.o.o."] == "HoReCa"
    assert group_names(database) == {"HoReCa", "Veleprodaja"}


@pytest.mark.browser
def test_on_a_phone_in_croatian_the_missing_groups_fit_the_screen(
    chromium: Browser, live: LiveServer, sales: Sales, tmp_path: Path
) -> None:
    context = chromium.new_context(locale="hr-HR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(f"{live.url}/login?next=/imports")
    page.fill("#username", "root")  # root reads Croatian
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{live.url}/imports")
    page.set_input_files("#f-file", str(croatian_csv(tmp_path / "prvi.csv", GROUP_ROWS)))
    page.click("form[enctype] button")
    page.click("form[action$='/validate'] button.primary")
    card = page.locator("[data-testid=unknown-groups]")
    expect(card).to_contain_text("Veleprodaja", timeout=30_000)
    expect(card.locator("select").first).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    box = card.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    context.close()
