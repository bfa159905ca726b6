"""The partner list, its saved views and CSV export, and the partner forms, through a
real server: what each rep sees and may do, bad input, duplicates and history."""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from groupware.access.policy import load_who
from groupware.accounts.models import User
from groupware.accounts.users import UserUpdate, update_user
from groupware.crm.models import Partner, PartnerGroup
from groupware.crm.partner_export import EXPORT_COLUMNS
from groupware.db import Database
from groupware.history.models import Change
from groupware.i18n import today, use_language
from tests.api.helpers import Api
from tests.conftest import LiveServer, LoginAs
from tests.factories import (
    Cast,
    county_id,
    make_partner,
    make_rule,
    make_territory,
    make_user,
    role_id,
)

VALID_OIB = "69435151530"
OTHER_OIB = "94577403194"


@dataclass
class Sales:
    """alice and bob are sales reps of "Zagreb" (HR-21), charlie of "Dalmacija" (HR-17);
    dave manages North, root administers. ``ids`` names the partners made by ``add``."""

    cast: Cast
    database: Database
    ids: dict[str, int]

    def add(self, name: str, **values: Any) -> int:
        with self.database.transaction(actor_id=None, channel="cli") as session:
            root = load_who(session, session.get(User, self.cast.root.id))  # type: ignore[arg-type]
            partner = make_partner(session, root, name, **values)
            self.ids[name] = partner.id
        return partner.id

    def partner(self, partner_id: int) -> Partner | None:
        with self.database.transaction(actor_id=None, channel="cli", write=False) as session:
            partner = session.get(Partner, partner_id)
            if partner is not None:
                _ = (partner.reps, partner.territory, partner.owner)
            return partner


@pytest.fixture
def sales(live: LiveServer, committed: Cast, database: Database) -> Sales:
    with database.transaction(actor_id=None, channel="cli") as session:
        for user in (committed.alice, committed.bob, committed.charlie):
            update_user(
                session,
                session.get(User, user.id),  # type: ignore[arg-type]
                UserUpdate(role_ids=[role_id(session, "sales")]),
                mail_domain="groupware.local",
            )
        zagreb = make_territory(session, "Zagreb", counties=("HR-21",))
        dalmacija = make_territory(session, "Dalmacija", counties=("HR-17",))
        make_rule(session, zagreb, (committed.alice, committed.bob))
        make_rule(session, dalmacija, (committed.charlie,))
    return Sales(committed, database, {})


def listed(response: httpx.Response) -> list[str]:
    """Partner names in the list's rows, in order."""
    assert response.status_code == 200, response.text[:500]
    return re.findall(
        r'<td data-label="[^"]*" class="lead"><a href="/partners/\d+">([^<]+)</a>', response.text
    )


def partner_count(database: Database) -> int:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return int(session.scalar(select(func.count()).select_from(Partner)) or 0)


def form_of(**values: str) -> dict[str, str]:
    base = {"kind": "company", "status": "active", "country": "HR", "group_id": ""}
    return base | {"county_id": ""} | values


# -- the list ---------------------------------------------------------------------------


def test_the_list_filters_searches_and_sorts(sales: Sales, login_as: LoginAs) -> None:
    with sales.database.transaction(actor_id=None, channel="cli") as session:
        group = PartnerGroup(name="Veleprodaja")
        session.add(group)
        session.flush()
        group_id = group.id
    sales.add("Čakovečki mlinovi d.d.", postal_code="40000", city="Čakovec", tags=["vip"])
    sales.add("Zagrebački holding", postal_code="10000", oib=VALID_OIB, group_id=group_id)
    sales.add("Splitska banka", postal_code="21000", city="Split", status="prospect")
    sales.add("Ivo Ivić", postal_code="21000", city="Split", kind="person", email="ivo@ivic.hr")
    root = login_as("root")

    assert listed(root.get("/partners")) == [
        "Čakovečki mlinovi d.d.",
        "Ivo Ivić",
        "Splitska banka",
        "Zagrebački holding",
    ]
    assert listed(root.get("/partners", params={"q": "cakovecki"})) == ["Čakovečki mlinovi d.d."]
    assert listed(root.get("/partners", params={"q": VALID_OIB})) == ["Zagrebački holding"]
    assert listed(root.get("/partners", params={"q": "IVO@ivic.hr"})) == ["Ivo Ivić"]
    assert listed(root.get("/partners", params={"city": "split", "sort": "-name"})) == [
        "Splitska banka",
        "Ivo Ivić",
    ]
    county = {"county_id": str(county_id_of(sales, "HR-21"))}
    assert listed(root.get("/partners", params=county)) == ["Zagrebački holding"]
    assert listed(root.get("/partners", params={"group_id": group_id})) == ["Zagrebački holding"]
    assert listed(root.get("/partners", params={"tag": "VIP"})) == ["Čakovečki mlinovi d.d."]
    assert listed(root.get("/partners", params={"status": "prospect"})) == ["Splitska banka"]
    assert listed(root.get("/partners", params={"kind": "person"})) == ["Ivo Ivić"]
    alice = {"rep_id": sales.cast.alice.id}
    assert listed(root.get("/partners", params=alice)) == ["Zagrebački holding"]
    # Čakovec is in no territory: the partner waits for a rep, and root is told so.
    page = root.get("/partners")
    assert (
        "1 partner nema komercijalista" in page.text
        and 'href="/partners?unassigned=1"' in page.text
    )
    assert listed(root.get("/partners", params={"unassigned": "1"})) == ["Čakovečki mlinovi d.d."]
    by_city = listed(root.get("/partners", params={"sort": "city"}))
    assert by_city.index("Ivo Ivić") < by_city.index("Zagrebački holding")
    assert by_city.index("Splitska banka") < by_city.index("Zagrebački holding")
    assert 'href="/partners?sort=-name"' in page.text  # the name header sorts the other way


def county_id_of(sales: Sales, code: str) -> int:
    with sales.database.transaction(actor_id=None, channel="cli", write=False) as session:
        return county_id(session, code)


def test_bad_filters_answer_422_with_the_reason(sales: Sales, login_as: LoginAs) -> None:
    root = login_as("root")
    for params in ({"county_id": "abc"}, {"sort": "password"}, {"status": "merged"}):
        response = root.get("/partners", params=params)
        assert response.status_code == 422, params
        assert "Ovi se filtri ne mogu primijeniti" in response.text
    assert root.get("/partners/export.csv", params={"sort": "x"}).status_code == 422


def test_the_list_pages_by_fifty_without_counting(sales: Sales, login_as: LoginAs) -> None:
    with sales.database.transaction(actor_id=None, channel="cli") as session:
        root_who = load_who(session, session.get(User, sales.cast.root.id))  # type: ignore[arg-type]
        for number in range(1, 53):
            make_partner(session, root_who, f"Tvrtka {number:03d}", postal_code="10000")
    root = login_as("root")
    first = root.get("/partners")
    assert len(listed(first)) == 50 and 'rel="next" href="/partners?offset=50"' in first.text
    assert 'rel="prev"' not in first.text
    second = root.get("/partners", params={"offset": "50"})
    assert listed(second) == ["Tvrtka 051", "Tvrtka 052"]
    assert 'rel="next"' not in second.text and 'rel="prev" href="/partners"' in second.text


def test_htmx_gets_only_the_results_and_a_boosted_link_the_page(
    sales: Sales, login_as: LoginAs
) -> None:
    sales.add("Konzum d.d.")
    root = login_as("root")
    live = root.get("/partners", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<html" not in live.text and listed(live) == ["Konzum d.d."]
    boosted = root.get("/partners", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.text and 'id="results"' in boosted.text


def test_a_sales_rep_sees_and_edits_only_their_territory(sales: Sales, login_as: LoginAs) -> None:
    zagreb = sales.add("Zagrebačka tvrtka", postal_code="10000")
    split = sales.add("Splitska tvrtka", postal_code="21000", city="Split")
    alice, charlie = login_as("alice"), login_as("charlie")
    assert listed(alice.get("/partners")) == ["Zagrebačka tvrtka"]
    assert listed(charlie.get("/partners")) == ["Splitska tvrtka"]
    assert "has no rep" not in alice.get("/partners").text  # the queue is not theirs
    for path in (f"/partners/{split}", f"/partners/{split}/edit", f"/partners/{split}/reps"):
        assert alice.get(path).status_code == 404, path
    assert alice.post(f"/partners/{split}/edit", data=form_of(name="X")).status_code == 404
    assert alice.post(f"/partners/{split}/delete").status_code == 404
    assert alice.get(f"/partners/{zagreb}/edit").status_code == 200
    assert sales.partner(split) is not None


def test_the_list_follows_a_change_of_rights_at_once(
    sales: Sales, login_as: LoginAs, database: Database
) -> None:
    """The list's statement is kept per user's rights: new rights are a new statement."""
    sales.add("Zagrebačka tvrtka", postal_code="10000")
    sales.add("Splitska tvrtka", postal_code="21000", city="Split")
    alice = login_as("alice")
    assert listed(alice.get("/partners")) == ["Zagrebačka tvrtka"]
    with database.transaction(actor_id=None, channel="cli") as session:
        user = session.scalar(select(User).where(User.username == "alice"))
        assert user is not None
        admin = UserUpdate(role_ids=[role_id(session, "admin")])
        update_user(session, user, admin, mail_domain="groupware.local")
    assert listed(alice.get("/partners")) == ["Splitska tvrtka", "Zagrebačka tvrtka"]


# -- saved views --------------------------------------------------------------------------


def test_saved_views_belong_to_their_owner(sales: Sales, login_as: LoginAs) -> None:
    alice, bob = login_as("alice"), login_as("bob")
    saved = alice.post(
        "/lists/partners/views", data={"name": "Prospects", "query": "status=prospect"}
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/partners?status=prospect"
    page = alice.get("/partners")
    assert '<a href="/partners?status=prospect">Prospects</a>' in page.text
    # Saving under the same name replaces the view.
    alice.post("/lists/partners/views", data={"name": "Prospects", "query": "status=active&x=1"})
    page = alice.get("/partners")
    assert '<a href="/partners?status=active">Prospects</a>' in page.text
    assert "status=prospect" not in page.text
    assert "Prospects" not in bob.get("/partners").text
    view_id = int(re.search(r"/lists/partners/views/(\d+)/delete", page.text).group(1))  # type: ignore[union-attr]
    assert bob.post(f"/lists/partners/views/{view_id}/delete").status_code == 404
    assert alice.post(f"/lists/partners/views/{view_id}/delete").status_code == 303
    assert "Prospects" not in alice.get("/partners").text
    refused = alice.post("/lists/partners/views", data={"name": " ", "query": "sort=city"})
    assert refused.status_code == 303


# -- export -------------------------------------------------------------------------------


def read_csv(response: httpx.Response) -> list[list[str]]:
    assert response.content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def test_export_needs_the_export_right_and_defuses_formulas(
    sales: Sales, login_as: LoginAs, database: Database
) -> None:
    sales.add("=cmd|' /C calc'!A0", postal_code="10000", phones="+1", notes="@SUM(1+1)")
    sales.add("-2+3", postal_code="21000", city="Split", tags=["vip"])
    with database.transaction(actor_id=None, channel="cli") as session:
        make_user(session, "erin")  # staff: sees own partners, may not export
        make_user(session, "frank", roles=("admin",), language="en")
    assert login_as("erin").get("/partners/export.csv").status_code == 403

    response = login_as("frank").get("/partners/export.csv", params={"sort": "-name"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="partneri-{today().isoformat()}.csv"'
    header, *rows = read_csv(response)
    name, phones, notes, tags = (header.index(c) for c in ("Name", "Phones", "Notes", "Tags"))
    assert [r[name] for r in rows] == ["'=cmd|' /C calc'!A0", "'-2+3"]
    assert rows[0][phones] == "'+1" and rows[0][notes] == "'@SUM(1+1)"
    assert rows[1][tags] == "vip" and rows[1][header.index("City")] == "Split"
    # An empty cell stays empty (it got a lone apostrophe, as if it began with a sign).
    assert rows[1][phones] == "" and rows[1][notes] == ""
    assert "'" not in [cell for row in rows for cell in row]

    # Headers speak the user's language (root's is Croatian); a rep exports what they see.
    with use_language("hr"):
        croatian = [str(label) for label, _column in EXPORT_COLUMNS]
    assert read_csv(login_as("root").get("/partners/export.csv"))[0] == croatian
    charlie_rows = read_csv(login_as("charlie").get("/partners/export.csv"))
    assert [r[name] for r in charlie_rows[1:]] == ["'-2+3"]


# -- create, edit, delete -------------------------------------------------------------------


def test_an_invalid_oib_is_refused_and_nothing_is_saved(sales: Sales, login_as: LoginAs) -> None:
    root = login_as("root")
    response = root.post("/partners/new", data=form_of(name="Loša tvrtka", oib="12345678901"))
    assert response.status_code == 422
    assert "OIB nije valjan" in response.text
    assert 'value="Loša tvrtka"' in response.text  # what was typed stays
    assert partner_count(sales.database) == 0


def test_a_new_partner_gets_its_rep_and_history_from_the_web(
    sales: Sales, login_as: LoginAs
) -> None:
    root = login_as("root")
    assert root.get("/partners/new").status_code == 200
    response = root.post(
        "/partners/new",
        data=form_of(name="Konzum d.d.", oib=VALID_OIB, postal_code="10000", city="Zagreb")
        | {"tags": "vip, Veleprodaja"},
    )
    assert response.status_code == 303, response.text
    partner_id = int(response.headers["location"].rsplit("/", 1)[1])
    partner = sales.partner(partner_id)
    assert partner is not None and partner.owner_id == sales.cast.alice.id
    with sales.database.transaction(actor_id=None, channel="cli", write=False) as session:
        changes = session.scalars(
            select(Change).where(Change.record_type == "partners", Change.record_id == partner_id)
        ).all()
    assert changes and {c.channel for c in changes} == {"web"}
    assert {c.actor_id for c in changes} == {sales.cast.root.id}
    assert len(changes) >= 3  # the partner and its two tags, filed on the partner


def test_the_duplicate_warning_asks_before_creating(sales: Sales, login_as: LoginAs) -> None:
    original = sales.add("Konzum d.d.", postal_code="10000", city="Zagreb", oib=VALID_OIB)
    root = login_as("root")
    data = form_of(name="KONZUM, d. d.", postal_code="10000", city="Zagreb")
    warned = root.post("/partners/new", data=data)
    assert warned.status_code == 409
    assert f'href="/partners/{original}"' in warned.text and "isti naziv i grad" in warned.text
    assert 'name="anyway"' in warned.text
    assert partner_count(sales.database) == 1
    created = root.post("/partners/new", data=data | {"anyway": "1"})
    assert created.status_code == 303
    assert partner_count(sales.database) == 2

    # While typing: the check reads only, and hides what the user may not see.
    charlie = login_as("charlie")
    check = charlie.post("/partners/check-duplicates", data={"name": "x", "oib": VALID_OIB})
    assert check.status_code == 200
    assert "1 more you may not see." in check.text and "Konzum" not in check.text
    seen = root.post("/partners/check-duplicates", data={"name": "Konzum", "city": "zagreb"})
    assert f'href="/partners/{original}"' in seen.text
    nothing = root.post("/partners/check-duplicates", data={"name": "Nova", "oib": "123"})
    assert nothing.status_code == 200 and nothing.text.strip() == ""


def test_editing_the_address_reassigns_the_partner(sales: Sales, login_as: LoginAs) -> None:
    partner_id = sales.add("Selidba d.o.o.", postal_code="10000", city="Zagreb")
    alice = login_as("alice")
    form = alice.get(f"/partners/{partner_id}/edit")
    assert form.status_code == 200 and 'value="Selidba d.o.o."' in form.text
    saved = alice.post(
        f"/partners/{partner_id}/edit",
        data=form_of(name="Selidba d.o.o.", postal_code="21000", city="Split"),
    )
    # Alice no longer sees it: she lands on the list, and charlie now has it.
    assert saved.status_code == 303 and saved.headers["location"] == "/partners"
    partner = sales.partner(partner_id)
    assert partner is not None and partner.owner_id == sales.cast.charlie.id
    assert partner.territory is not None and partner.territory.name == "Dalmacija"
    assert alice.get(f"/partners/{partner_id}/edit").status_code == 404
    assert login_as("charlie").get(f"/partners/{partner_id}/edit").status_code == 200


def test_an_edit_that_makes_a_duplicate_asks_first(sales: Sales, login_as: LoginAs) -> None:
    sales.add("Prvi d.o.o.", postal_code="10000", oib=VALID_OIB)
    second = sales.add("Drugi d.o.o.", postal_code="10000", oib=OTHER_OIB)
    root = login_as("root")
    unchanged = form_of(name="Drugi d.o.o.", postal_code="10000", city="Zagreb", oib=OTHER_OIB)
    assert root.post(f"/partners/{second}/edit", data=unchanged).status_code == 303
    renamed = unchanged | {"name": "Prvi d.o.o."}
    assert root.post(f"/partners/{second}/edit", data=renamed).status_code == 409
    assert root.post(f"/partners/{second}/edit", data=renamed | {"anyway": "1"}).status_code == 303
    clash = unchanged | {"oib": VALID_OIB, "anyway": "1"}
    refused = root.post(f"/partners/{second}/edit", data=clash)
    assert refused.status_code == 422 and "Drugi partner već ima ovu vrijednost" in refused.text


def test_a_clash_with_a_partner_out_of_sight_names_nothing_of_it(
    sales: Sales, login_as: LoginAs, api: Api
) -> None:
    hidden = sales.add("Tajna d.o.o.", postal_code="10000", oib=VALID_OIB)  # Zagreb's
    charlie = login_as("charlie")  # Dalmacija: may not see it
    assert charlie.get(f"/partners/{hidden}").status_code == 404
    form = form_of(name="Nova d.o.o.", postal_code="21000", city="Split", oib=VALID_OIB)
    refused = charlie.post("/partners/new", data=form | {"anyway": "1"})
    assert refused.status_code == 422
    assert "a partner you may not see" in refused.text
    assert f"#{hidden}" not in refused.text and "Tajna" not in refused.text
    answer = api("charlie").post(
        "/partners", json={"name": "Nova d.o.o.", "oib": VALID_OIB, "postal_code": "21000"}
    )
    assert answer.status_code == 422
    error = answer.json()["error"]  # its status, 422, may hold the partner's id's digits
    said = error["message"] + " ".join(error["fields"].values())
    assert str(hidden) not in said and "Tajna" not in answer.text
    # Someone who sees the holder is told which partner it is.
    seen = login_as("alice").post("/partners/new", data=form | {"anyway": "1"})
    assert seen.status_code == 422 and f"Tajna d.o.o. (#{hidden})" in seen.text


def test_deleting_needs_the_delete_right(sales: Sales, login_as: LoginAs) -> None:
    partner_id = sales.add("Kratkog vijeka d.o.o.", postal_code="10000")
    with sales.database.transaction(actor_id=None, channel="cli") as session:
        # erin covers Zagreb too (a rule further down the table): she sees and edits its
        # partners through the territory, but a sales rep deletes only their own.
        erin = make_user(session, "erin", roles=("sales",))
        territory = session.get(Partner, partner_id).territory  # type: ignore[union-attr]
        make_rule(session, territory, (erin,), priority=500)
    assert login_as("erin").post(f"/partners/{partner_id}/delete").status_code == 403
    assert login_as("charlie").post(f"/partners/{partner_id}/delete").status_code == 404
    alice = login_as("alice")
    deleted = alice.post(f"/partners/{partner_id}/delete")
    assert deleted.status_code == 303 and deleted.headers["location"] == "/partners"
    assert "is deleted" in alice.get("/partners").text
    assert sales.partner(partner_id) is None


# -- reps -----------------------------------------------------------------------------------


def test_reps_are_chosen_by_hand_and_handed_back_to_the_table(
    sales: Sales, login_as: LoginAs
) -> None:
    partner_id = sales.add("Dijeljena d.o.o.", postal_code="10000")
    alice = login_as("alice")
    page = alice.get(f"/partners/{partner_id}/reps")
    assert page.status_code == 200 and "by the assignment table" in page.text
    assert login_as("charlie").get(f"/partners/{partner_id}/reps").status_code == 404
    cast = sales.cast
    chosen = alice.post(
        f"/partners/{partner_id}/reps",
        data={"owner_id": str(cast.bob.id), "rep_ids": [str(cast.charlie.id), str(cast.bob.id)]},
    )
    assert chosen.status_code == 303
    partner = sales.partner(partner_id)
    assert partner is not None and partner.owner_id == cast.bob.id and partner.manual_assignment
    assert [r.user_id for r in partner.reps] == [cast.charlie.id]
    assert "chosen by hand" in alice.get(f"/partners/{partner_id}/reps").text
    # charlie, now a rep, sees it although it is outside his territory.
    assert login_as("charlie").get(f"/partners/{partner_id}/reps").status_code == 200
    bad = alice.post(f"/partners/{partner_id}/reps", data={"owner_id": "x", "rep_ids": []})
    assert bad.status_code == 422
    back = alice.post(f"/partners/{partner_id}/reps", data={"automatic": "1"})
    assert back.status_code == 303
    partner = sales.partner(partner_id)
    assert partner is not None and partner.owner_id == cast.alice.id
    assert not partner.manual_assignment and [r.user_id for r in partner.reps] == [cast.bob.id]
