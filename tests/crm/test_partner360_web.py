"""The partner 360° page through a real server: who sees it, and the figures it shows."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.access.policy import SYSTEM, load_who
from groupware.accounts.models import User
from groupware.accounts.users import UserUpdate, update_user
from groupware.crm.documents import DocumentIn, upsert_document
from groupware.crm.models import Partner
from groupware.crm.partner360_web import revenue_chart
from groupware.crm.persons import BranchIn, PersonIn, save_branch, save_person
from groupware.db import Database
from groupware.i18n import today, use_language
from groupware.wiring import Area
from tests.conftest import LoginAs
from tests.factories import Cast, make_partner, make_rule, make_territory, role_id

# -- set-up shared by the CRM web tests -----------------------------------------------


def make_sales(session: Session, cast: Cast) -> None:
    """alice and bob are sales reps of "Zagreb" (HR-21), charlie of "Dalmacija" (HR-17),
    as in tests/crm/test_partners.py."""
    for user in (cast.alice, cast.bob, cast.charlie):
        row = session.get(User, user.id)
        assert row is not None
        update_user(
            session, row, UserUpdate(role_ids=[role_id(session, "sales")]), mail_domain="x.hr"
        )
    zagreb = make_territory(session, "Zagreb", counties=("HR-21",))
    dalmacija = make_territory(session, "Dalmacija", counties=("HR-17",))
    make_rule(session, zagreb, (cast.alice, cast.bob))
    make_rule(session, dalmacija, (cast.charlie,))


def make_document(session: Session, partner: Partner, number: str, **values: Any) -> Any:
    values.setdefault("kind", "invoice")
    values.setdefault("date", today())
    values.setdefault("net_amount", decimal.Decimal("100.00"))
    gross = values["net_amount"] * decimal.Decimal("1.25")
    values.setdefault(
        "gross_amount", gross.quantize(decimal.Decimal("0.01"), decimal.ROUND_HALF_UP)
    )
    data = DocumentIn(number=number, partner_id=partner.id, **values)
    return upsert_document(session, SYSTEM, data)[0]


class _Tables(HTMLParser):
    """The cell texts of the table with a given ``data-testid``."""

    def __init__(self, testid: str) -> None:
        super().__init__()
        self.testid = testid
        self.depth = 0
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and (dict(attrs).get("data-testid") == self.testid or self.depth):
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif self.depth and tag in ("td", "th") and self.cell is not None:
            # Collapse ASCII white space only: money keeps its no-break space.
            self.rows[-1].append(re.sub(r"[ \t\r\n]+", " ", "".join(self.cell)).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, testid: str) -> list[list[str]]:
    parser = _Tables(testid)
    parser.feed(html)
    return [row for row in parser.rows if row]


def months_ago(day: dt.date, months: int) -> dt.date:
    total = day.year * 12 + day.month - 1 - months
    return dt.date(total // 12, total % 12 + 1, 1)


@dataclass
class World:
    konzum: int
    split: int
    person: int


@pytest.fixture
def world(committed: Cast, database: Database) -> World:
    """A Zagreb partner (alice's) with a branch, a person and documents over three years,
    and a Split partner (charlie's)."""
    with database.transaction(actor_id=None, channel="cli") as session:
        make_sales(session, committed)
        root = load_who(session, session.get(User, committed.root.id))  # type: ignore[arg-type]
        konzum = make_partner(session, root, "Konzum d.d.", oib="69435151530", tags=["retail"])
        split = make_partner(session, root, "Splitska d.o.o.", postal_code="21000", city="Split")
        branch = save_branch(
            session, root, None, BranchIn(partner_id=konzum.id, name="Skladište Sesvete")
        )
        person = save_person(
            session,
            root,
            None,
            PersonIn(
                partner_id=konzum.id,
                branch_id=branch.id,
                first_name="Ivana",
                last_name="Horvat",
                function="Nabava",
                email="ivana@konzum.hr",
                mailing_consent=True,
            ),
        )
        now = today().replace(day=1)
        this_year, year_ago = now, months_ago(now, 12)
        make_document(session, konzum, "R-1", date=this_year, net_amount=decimal.Decimal("1000"))
        make_document(session, konzum, "R-2", date=this_year, net_amount=decimal.Decimal("234.50"))
        make_document(session, konzum, "R-3", date=year_ago, net_amount=decimal.Decimal("100"))
        make_document(
            session, konzum, "R-4", date=months_ago(now, 36), net_amount=decimal.Decimal("77")
        )
        make_document(
            session,
            konzum,
            "R-X",
            date=this_year,
            status="cancelled",
            net_amount=decimal.Decimal(9),
        )
        make_document(
            session, konzum, "R-USD", date=this_year, currency="USD", net_amount=decimal.Decimal(10)
        )
        make_document(
            session, konzum, "P-1", kind="offer", date=this_year, net_amount=decimal.Decimal(5000)
        )
        make_document(
            session,
            konzum,
            "R-OPEN",
            kind="order",
            date=months_ago(now, 2),
            due_date=months_ago(now, 2) + dt.timedelta(days=15),
            net_amount=decimal.Decimal("40"),
            open_amount=decimal.Decimal("50"),
        )
        make_document(session, split, "R-SPLIT", net_amount=decimal.Decimal("8888"))
        return World(konzum=konzum.id, split=split.id, person=person.id)


def test_the_360_page_shows_everything_around_the_partner(world: World, login_as: LoginAs) -> None:
    alice = login_as("alice")
    page = alice.get(f"/partners/{world.konzum}")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "Konzum d.d." in html and "69435151530" in html and "retail" in html
    assert "Grad Zagreb" in html and "Croatia" in html  # county and country names
    assert "Alice" in html and "Bob" in html and "primary" in html and "Zagreb" in html
    assert "Ivana Horvat" in html and "Nabava" in html and "Skladište Sesvete" in html
    assert f'href="/partners/{world.konzum}/persons/new"' in html
    assert f'href="/partners/{world.konzum}/branches/new"' in html
    assert f'href="/partners/{world.konzum}/edit"' in html
    assert f'action="/partners/{world.konzum}/delete"' in html  # alice is the primary rep
    assert [row[0] for row in table_rows(html, "open-items")[1:]] == ["R-OPEN"]
    assert "overdue" in table_rows(html, "open-items")[1][3]
    assert "R-SPLIT" not in html and "8888" not in html
    assert f'href="/documents?partner_id={world.konzum}"' in html
    assert "<svg" in html and '<title id="revenue-title">' in html
    # CSP allows no inline code: the chart is plain SVG, no style attribute, no script.
    assert "style=" not in html and html.count("<script") == html.count("<script src=")
    assert f"/records/partners/{world.konzum}/history" in html


def test_a_user_who_may_not_see_the_partner_gets_404(world: World, login_as: LoginAs) -> None:
    charlie = login_as("charlie")
    assert charlie.get(f"/partners/{world.konzum}").status_code == 404
    assert charlie.get(f"/partners/{world.split}").status_code == 200
    dave = login_as("dave")  # manages alice's team
    page = dave.get(f"/partners/{world.konzum}").text
    assert "Ivana Horvat" in page
    assert f'action="/partners/{world.konzum}/delete"' in page  # manager: team delete


def test_revenue_totals_are_right_in_croatian(world: World, login_as: LoginAs) -> None:
    root = login_as("root")  # root reads Croatian
    html = root.get(f"/partners/{world.konzum}").text
    year = today().year
    totals = table_rows(html, "totals")[1:]
    nbsp = "\xa0"
    invoices = [row for row in totals if row[0] == str(year) and row[2] == "2"]
    assert [row[3:] for row in invoices] == [[f"1.234,50{nbsp}€", f"1.543,13{nbsp}€"]]
    by_key = {(row[0], row[3].split(nbsp)[-1]): row for row in totals if row[2] != "2"}
    assert by_key[(str(year), "USD")][3] == f"10,00{nbsp}USD"
    assert by_key[(str(year - 1), "€")][3] == f"100,00{nbsp}€"
    assert by_key[(str(year - 3), "€")][3] == f"77,00{nbsp}€"
    assert any(row[3] == f"5.000,00{nbsp}€" for row in totals)  # the offer, counted apart
    assert all("9,00" not in cell for row in totals for cell in row)  # cancelled
    figures = table_rows(html, "revenue-figures")[1:]
    assert len(figures) == 24
    assert figures[-1][1] == f"1.234,50{nbsp}€"  # this month: the two EUR invoices
    assert figures[-13][1] == f"100,00{nbsp}€"  # the same month a year ago
    assert sum(1 for _m, amount in figures if amount != f"0,00{nbsp}€") == 2
    assert f"1.334,50{nbsp}€" in html  # the chart's total


def test_english_users_get_english_money(world: World, login_as: LoginAs) -> None:
    html = login_as("alice").get(f"/partners/{world.konzum}").text
    assert "€1,234.50" in html and "€1,543.13" in html


def test_the_chart_scales_bars_and_shows_credit_notes_below_the_line() -> None:
    series = [
        (dt.date(2025, 1, 1), decimal.Decimal("100")),
        (dt.date(2025, 2, 1), decimal.Decimal("0")),
        (dt.date(2025, 3, 1), decimal.Decimal("-50")),
    ]
    with use_language("en"):
        revenue = revenue_chart(series)
    chart = revenue.chart
    up, empty, down = chart.rects
    assert (revenue.top, revenue.bottom, revenue.total) == (100, -50, 50)
    assert empty.height == 0 and up.height == pytest.approx(2 * down.height, abs=0.2)
    assert up.y + up.height == pytest.approx(chart.zero) and down.y == chart.zero
    assert (up.css, down.css) == ("s2", "neg")  # a credit note in its own colour
    assert [e.label for e in chart.legend] == ["Invoiced net (EUR)", "Credit notes"]
    assert revenue.months[0] == ("Jan 2025", 100)
    assert up.title == "Jan 2025 · Invoiced net (EUR): €100.00"
    assert chart.plot.top <= up.y and down.y + down.height <= chart.plot.bottom + 0.1


def test_a_merged_partner_points_at_the_one_it_was_merged_into(
    world: World, committed: Cast, database: Database, login_as: LoginAs
) -> None:
    from groupware.crm.merge import merge_partners

    with database.transaction(actor_id=committed.root.id, channel="cli") as session:
        root = load_who(session, session.get(User, committed.root.id))  # type: ignore[arg-type]
        twin = make_partner(session, root, "Konzum dd", city="Zagreb")
        kept = session.get(Partner, world.konzum)
        assert kept is not None
        merge_partners(session, kept, twin, by_user_id=committed.root.id)
        twin_id = twin.id
    html = login_as("alice").get(f"/partners/{twin_id}").text
    assert "This partner was merged into:" in html
    assert re.search(rf'<a href="/partners/{world.konzum}">Konzum d\.d\.</a>', html)
    assert f'href="/partners/{twin_id}/edit"' not in html


# -- the documents pages ------------------------------------------------------------------


def numbers(html: str) -> list[str]:
    rows = table_rows(html, "list-documents")[1:]
    return sorted(row[0] for row in rows if len(row) > 2 and row[0] != "Total")


def test_the_documents_list_filters_by_kind_partner_dates_and_status(
    world: World, login_as: LoginAs
) -> None:
    alice = login_as("alice")
    everything = alice.get("/documents")
    assert everything.status_code == 200
    konzum = ["P-1", "R-1", "R-2", "R-3", "R-4", "R-OPEN", "R-USD", "R-X"]
    assert numbers(everything.text) == konzum  # not charlie's R-SPLIT
    assert numbers(alice.get("/documents?kind=offer").text) == ["P-1"]
    assert numbers(alice.get("/documents?status=cancelled").text) == ["R-X"]
    assert numbers(alice.get("/documents", params={"partner": "konz"}).text) == konzum
    assert numbers(alice.get("/documents", params={"partner": "splitska"}).text) == []
    this_month = today().replace(day=1)
    dated = alice.get("/documents", params={"date_from": this_month.isoformat(), "kind": "invoice"})
    assert numbers(dated.text) == ["R-1", "R-2", "R-USD", "R-X"]
    local = (this_month - dt.timedelta(days=1)).strftime("%d.%m.%Y.")  # typed the local way
    assert numbers(alice.get("/documents", params={"date_to": local}).text) == [
        "R-3",
        "R-4",
        "R-OPEN",
    ]
    of_partner = alice.get("/documents", params={"partner_id": world.konzum})
    assert numbers(of_partner.text) == konzum and "Documents of Konzum d.d." in of_partner.text
    fragment = alice.get("/documents?kind=offer", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and numbers(fragment.text) == ["P-1"]
    charlie = login_as("charlie")
    assert numbers(charlie.get("/documents").text) == ["R-SPLIT"]
    assert numbers(charlie.get("/documents", params={"partner_id": world.konzum}).text) == []


def test_a_bad_filter_names_the_field_and_lists_nothing(world: World, login_as: LoginAs) -> None:
    alice = login_as("alice")
    response = alice.get("/documents", params={"date_from": "31.02.2026.", "kind": "bill"})
    assert response.status_code == 422
    assert "From: Enter a date as dd.mm.yyyy." in response.text
    assert "Kind: Choose one of the offered values." in response.text
    assert numbers(response.text) == []


def test_a_document_page_shows_everything_to_those_who_see_its_partner(
    world: World, login_as: LoginAs, database: Database
) -> None:
    from sqlalchemy import select

    from groupware.crm.models import Document

    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        doc_id = session.scalar(select(Document.id).where(Document.number == "R-OPEN"))
    root = login_as("root")
    page = root.get(f"/documents/{doc_id}")
    assert page.status_code == 200
    nbsp = "\xa0"
    for text in ("R-OPEN", "Konzum d.d.", f"40,00{nbsp}€", f"50,00{nbsp}€", "EUR"):
        assert text in page.text
    assert f"/records/documents/{doc_id}/history" in page.text
    assert login_as("alice").get(f"/documents/{doc_id}").status_code == 200
    assert login_as("charlie").get(f"/documents/{doc_id}").status_code == 404


def test_a_later_module_adds_a_section_without_touching_the_page(
    world: World, login_as: LoginAs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from groupware.crm import partner360_web

    seen: list[int] = []

    def load(ctx: Any, partner: Partner) -> dict[str, Any]:
        seen.append(partner.id)
        return {}

    # Any template of the page's context does; a real area brings its own.
    section = partner360_web.Section("extra", "crm/_revenue_chart.html", load)
    with wiring.extended(Area("test", partner_sections=(section,))):
        html = login_as("alice").get(f"/partners/{world.konzum}").text
    assert seen == [world.konzum]
    assert html.count('data-testid="revenue-chart"') == 2


def test_without_rights_on_documents_the_page_leaves_them_out(
    world: World, committed: Cast, database: Database, login_as: LoginAs
) -> None:
    from groupware.accounts.roles import RoleIn, create_role
    from tests.factories import make_user

    with database.transaction(actor_id=None, channel="cli") as session:
        create_role(session, RoleIn(name="partner-reader", grants=[("partners", "view", "all")]))
        make_user(session, "erin", roles=("partner-reader",))
    erin = login_as("erin")
    page = erin.get(f"/partners/{world.konzum}")
    assert page.status_code == 200 and "Ivana Horvat" in page.text
    assert "R-1" not in page.text and 'data-testid="revenue-chart"' not in page.text
    assert f'href="/partners/{world.konzum}/edit"' not in page.text  # may only read
    assert 'href="/documents"' not in page.text  # not in her navigation either
    # The list answers with what is shared with her (nothing), not with every document.
    listing = erin.get("/documents")
    assert listing.status_code == 200 and "R-1" not in listing.text
    assert erin.get("/persons").status_code == 200
