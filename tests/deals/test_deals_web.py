"""Deal pages through the real server: the form, the deal page with its phases, moves,
closing, the activity log and documents, the list, the board (a form per card and
dragging in Chromium), the partner's 360° page, and access."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from groupware.access.policy import SYSTEM
from groupware.crm.documents import DocumentIn, upsert_document
from groupware.db import Database
from groupware.deals.models import Deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.phases.models import ProcessType
from tests.browser.test_shell import chromium
from tests.conftest import LiveServer, LoginAs
from tests.crm.conftest import Sales
from tests.factories import PASSWORD, make_partner

__all__ = ["chromium"]  # a fixture used here


@pytest.fixture
def pipeline(sales: Sales, database: Database) -> tuple[int, int, int]:
    """A sale type (Qualify, Offer, Negotiate), a Zagreb partner and a Split one."""
    with database.transaction(actor_id=None, channel="cli") as session:
        steps = [StepIn(name=n, planned_days=d) for n, d in (("Qualify", 5), ("Offer", 10))]
        steps.append(StepIn(name="Negotiate", planned_days=15))
        sale = save_type(
            session, SYSTEM, None, TypeIn(name="Retail", direction="sale", phases=steps)
        )
        zagreb = make_partner(session, SYSTEM, "Konzum d.d.", postal_code="10000").id
        split = make_partner(session, SYSTEM, "Studenac", postal_code="21000", city="Split").id
        upsert_document(
            session,
            SYSTEM,
            DocumentIn(
                kind="offer",
                number="P-7/2026",
                date=dt.date(2026, 3, 3),
                partner_id=zagreb,
                net_amount=decimal.Decimal(100),
                gross_amount=decimal.Decimal(125),
            ),
        )
        return sale.id, zagreb, split


def new_deal_form(type_id: int, partner_id: int, **values: str) -> dict[str, str]:
    return {
        "title": "Blagajne",
        "direction": "sale",
        "partner_id": str(partner_id),
        "type_id": str(type_id),
        "priority": "high",
        "source": "fair",
        "amount": "1200.00",
        "currency": "EUR",
        "probability": "40",
        "started_on": "2026-03-02",
        "expected_close": "2026-04-30",
        **values,
    }


def deal_of(database: Database, title: str) -> Deal:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.scalar(select(Deal).where(Deal.title == title))
        assert row is not None
        return row


def test_a_rep_starts_works_and_closes_a_deal_in_the_browser(
    pipeline: tuple[int, int, int], login_as: LoginAs, database: Database
) -> None:
    sale, zagreb, _split = pipeline
    alice = login_as("alice")
    assert alice.get(f"/deals/new?partner_id={zagreb}").status_code == 200
    bad = alice.post("/deals/new", data=new_deal_form(sale, zagreb, currency="XYZ"))
    assert bad.status_code == 422 and "Unknown currency" in bad.text
    made = alice.post("/deals/new", data=new_deal_form(sale, zagreb))
    assert made.status_code == 303
    deal = deal_of(database, "Blagajne")
    page = alice.get(f"/deals/{deal.id}").text
    assert "Qualify" in page and "Negotiate" in page and "fair" in page
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        from groupware.deals.service import phases_of

        phases = phases_of(session, session.get(Deal, deal.id))  # type: ignore[arg-type]
    moved = alice.post(f"/deals/{deal.id}/move", data={"phase_id": str(phases[1].id)})
    assert moved.status_code == 303
    assert deal_of(database, "Blagajne").phase_id == phases[1].id
    call = {"kind": "call", "body": "Nazvao"}
    logged = alice.post(f"/records/deals/{deal.id}/activities", data=call)
    assert logged.status_code == 303 and "Nazvao" in alice.get(f"/deals/{deal.id}").text
    page = alice.get(f"/deals/{deal.id}").text
    assert "P-7/2026" in page  # the partner's document, ready to link
    doc_id = page.split('name="document_id"')[1].split('value="')[1].split('"')[0]
    assert (
        alice.post(f"/deals/{deal.id}/documents", data={"document_id": doc_id}).status_code == 303
    )
    refused = alice.post(f"/deals/{deal.id}/close", data={"status": "lost"})
    assert refused.status_code == 422 and "Say why the deal was lost" in refused.text
    assert deal_of(database, "Blagajne").status == "open"
    closed = alice.post(f"/deals/{deal.id}/close", data={"status": "won"})
    assert closed.status_code == 303 and deal_of(database, "Blagajne").status == "won"
    listed = alice.get("/deals", params={"status": "won"}).text
    assert "Blagajne" in listed
    assert "Blagajne" in alice.get(f"/partners/{zagreb}").text  # the 360° page
    # charlie (Dalmacija) sees neither the deal nor the partner's; nothing to move
    charlie = login_as("charlie")
    assert charlie.get(f"/deals/{deal.id}").status_code == 404
    assert "Blagajne" not in charlie.get("/deals").text
    assert charlie.post(f"/deals/{deal.id}/reopen").status_code == 404
    assert charlie.post("/deals/new", data=new_deal_form(sale, zagreb)).status_code == 404
    history = alice.get(f"/records/deals/{deal.id}/history").text
    assert "won" in history


def test_the_edit_form_keeps_phases_and_names_bad_fields(
    pipeline: tuple[int, int, int], login_as: LoginAs, database: Database
) -> None:
    sale, zagreb, _split = pipeline
    alice = login_as("alice")
    alice.post("/deals/new", data=new_deal_form(sale, zagreb))
    deal = deal_of(database, "Blagajne")
    form = alice.get(f"/deals/{deal.id}/edit")
    assert form.status_code == 200 and 'value="Blagajne"' in form.text
    bad = alice.post(
        f"/deals/{deal.id}/edit", data=new_deal_form(sale, zagreb, expected_close="2026-01-01")
    )
    assert bad.status_code == 422 and "before the start" in bad.text
    ok = alice.post(f"/deals/{deal.id}/edit", data=new_deal_form(sale, zagreb, title="Kase"))
    assert ok.status_code == 303 and deal_of(database, "Kase").phase_id == deal.phase_id


@pytest.mark.browser
def test_in_chromium_a_card_is_moved_by_dragging_and_by_keyboard(
    chromium: Browser, pipeline: tuple[int, int, int], live: LiveServer, database: Database
) -> None:
    sale, zagreb, _split = pipeline
    with database.transaction(actor_id=None, channel="cli") as session:
        from groupware.access.policy import load_who
        from groupware.accounts.models import User
        from groupware.deals.service import DealIn, create_deal

        alice = session.scalar(select(User).where(User.username == "alice"))
        assert alice is not None
        who = load_who(session, alice)
        for title in ("Prvi posao", "Drugi posao"):
            create_deal(session, who, DealIn(title=title, partner_id=zagreb, type_id=sale))
        steps = session.get(ProcessType, sale).phases  # type: ignore[union-attr]
        offer, negotiate = steps[1].id, steps[2].id
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live.url}/login?next=/deals/board")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("[data-testid=board]")).to_be_visible()
    first = page.locator(".deal-card", has_text="Prvi posao")
    first.drag_to(page.locator(f".column[data-step='{offer}']"))
    expect(page.locator(f".column[data-step='{offer}'] .deal-card")).to_contain_text("Prvi posao")
    # The board gives the focus back to the moved card once the swap settles: wait for
    # it, or it lands after the focus below and the arrow key moves the first card.
    expect(page.locator(".deal-card", has_text="Prvi posao")).to_be_focused()
    # by keyboard: the focused card moves one column to the right with the arrow key
    second = page.locator(".deal-card", has_text="Drugi posao")
    second.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(f".column[data-step='{offer}'] .deal-card")).to_have_count(2)
    moved = page.locator(".deal-card", has_text="Drugi posao")
    expect(moved).to_be_focused()  # the card keeps the focus after the move
    # by its menu: open it and choose the column
    moved.locator("summary").click()
    moved.get_by_role("button", name="To Negotiate").click()
    expect(page.locator(f".column[data-step='{negotiate}'] .deal-card")).to_contain_text(
        "Drugi posao"
    )
    assert errors == []
    context.close()


def test_an_administrator_edits_a_type_and_its_phases_in_the_browser(
    login_as: LoginAs, database: Database
) -> None:
    root, alice = login_as("root"), login_as("alice")
    assert alice.get("/admin/deal-types").status_code == 403
    form = {
        "name": "Nabava robe",
        "direction": "purchase",
        "is_active": "1",
        "phase_name": ["Upit", "Narudžba", ""],
        "phase_days": ["3", "7", ""],
    }
    bad = root.post("/admin/deal-types/new", data={**form, "phase_name": ["Upit", "upit", ""]})
    assert bad.status_code == 422 and "Dvije faze imaju isti naziv" in bad.text  # root: hr
    assert root.post("/admin/deal-types/new", data=form).status_code == 303
    page = root.get("/admin/deal-types").text
    assert "Nabava robe" in page and "Upit" in page and "Narudžba" in page
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.scalar(select(ProcessType).where(ProcessType.name == "Nabava robe"))
        assert row is not None and [(p.name, p.planned_days) for p in row.phases] == [
            ("Upit", 3),
            ("Narudžba", 7),
        ]
        type_id = row.id
    changed = {**form, "phase_name": ["Upit", "", ""], "phase_days": ["5", "", ""]}
    assert root.post(f"/admin/deal-types/{type_id}", data=changed).status_code == 303
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.get(ProcessType, type_id)
        assert row is not None and [(p.name, p.planned_days) for p in row.phases] == [("Upit", 5)]


def test_the_reports_page_and_its_csv_show_the_same_figures(
    pipeline: tuple[int, int, int], login_as: LoginAs, database: Database
) -> None:
    sale, zagreb, _split = pipeline
    alice = login_as("alice")
    form = new_deal_form(sale, zagreb, probability="25", expected_close="2026-04-30")
    alice.post("/deals/new", data=form)  # 1200 at 25%: forecast 300 in April
    params = {"from": "2026-01-01", "to": "2026-12-31", "by": "owner"}
    page = alice.get("/deals/reports", params=params)
    assert page.status_code == 200
    assert (
        "€300.00" in page.text
        and "Alice" in page.text
        and 'data-testid="forecast-chart"' in page.text
    )
    assert "Qualify" in page.text  # the pipeline table
    csv = alice.get("/deals/reports/forecast.csv", params=params)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[1] == "2026-04;Alice;300.00;0.00;0.00"
    bad = alice.get("/deals/reports", params={"from": "2026-05-01", "to": "2026-01-01"})
    assert bad.status_code == 422 and "ends before it starts" in bad.text
    charlie = login_as("charlie")
    assert "€300.00" not in charlie.get("/deals/reports", params=params).text


def test_the_list_filters_by_close_date_and_keeps_saved_views(
    pipeline: tuple[int, int, int], login_as: LoginAs
) -> None:
    sale, zagreb, _split = pipeline
    alice, bob = login_as("alice"), login_as("bob")
    alice.post("/deals/new", data=new_deal_form(sale, zagreb, title="Travanj"))
    alice.post(
        "/deals/new", data=new_deal_form(sale, zagreb, title="Lipanj", expected_close="2026-06-15")
    )
    june = {"close_from": "2026-06-01", "close_to": "2026-06-30", "priority": "high"}
    page = alice.get("/deals", params=june).text
    assert "Lipanj" in page and "Travanj" not in page
    query = "close_from=2026-06-01&close_to=2026-06-30&priority=high&bogus=1"
    saved = alice.post("/lists/deals/views", data={"name": "Lipanj", "query": query})
    assert saved.status_code == 303
    assert (
        saved.headers["location"]
        == "/deals?priority=high&close_from=2026-06-01&close_to=2026-06-30"
    )
    assert 'href="/deals?priority=high&amp;close_from=2026-06-01' in alice.get("/deals").text
    assert "close_from=2026-06-01" not in bob.get("/deals").text  # views are personal
    bad_date = alice.get("/deals", params={"close_from": "not a date"})
    assert bad_date.status_code == 200 and "Travanj" in bad_date.text


def test_lines_are_edited_in_the_form_and_make_the_amount(
    pipeline: tuple[int, int, int], login_as: LoginAs, database: Database
) -> None:
    sale, zagreb, _split = pipeline
    alice = login_as("alice")
    lines = {
        "line_description": ["POS terminal", "Ugradnja", ""],
        "line_quantity": ["3", "1.5", ""],
        "line_price": ["899.90", "60", ""],
    }
    made = alice.post("/deals/new", data={**new_deal_form(sale, zagreb), **lines})
    assert made.status_code == 303
    deal = deal_of(database, "Blagajne")
    assert deal.amount == decimal.Decimal("2789.70")
    form = alice.get(f"/deals/{deal.id}/edit").text
    assert 'value="POS terminal"' in form and 'value="1.5"' in form
    bad = {**lines, "line_quantity": ["-1", "1.5", ""]}
    refused = alice.post(f"/deals/{deal.id}/edit", data={**new_deal_form(sale, zagreb), **bad})
    assert refused.status_code == 422
    fewer = {"line_description": ["POS terminal"], "line_quantity": ["2"], "line_price": ["100"]}
    saved = alice.post(f"/deals/{deal.id}/edit", data={**new_deal_form(sale, zagreb), **fewer})
    assert saved.status_code == 303 and deal_of(database, "Blagajne").amount == decimal.Decimal(
        "200.00"
    )
    page = alice.get(f"/deals/{deal.id}").text
    lines = page.split('data-testid="stream"')[0]  # the stream's changes name the old line
    assert "POS terminal" in lines and "Ugradnja" not in lines
