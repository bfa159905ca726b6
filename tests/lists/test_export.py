"""A shaped list as CSV: exactly the filtered rows in the chosen columns, safe to open
in a spreadsheet, for those with the export right."""

from __future__ import annotations

import codecs
import csv
import io

import httpx

from groupware.access.policy import SYSTEM
from groupware.db import Database
from groupware.i18n import today
from groupware.settings import Settings
from tests.conftest import LoginAs
from tests.factories import Cast, make_partner
from tests.lists.conftest import Shop
from tests.mail.test_web import mail


def read_csv(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def test_the_export_has_the_filtered_rows_in_the_chosen_columns_defused(
    committed: Cast, login_as: LoginAs, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        make_partner(
            session, SYSTEM, "=cmd|' /C calc'!A0", city="Split", postal_code="21000",
            phones="+1", notes="@SUM(1+1)",
        )  # fmt: skip
        make_partner(session, SYSTEM, "-2+3", city="Split", postal_code="21000", notes="=1\r\n=2")
        make_partner(session, SYSTEM, "Zagrebačka tvrtka")  # filtered out
    root = login_as("root")
    query = "city=split&cols=name,phones,notes,city&sort=-name"
    response = root.get(f"/lists/partners/export.csv?{query}")
    disposition = response.headers["content-disposition"]
    assert disposition == f'attachment; filename="partneri-{today().isoformat()}.csv"'
    header, *rows = read_csv(response)
    assert header == ["Ime", "Telefoni", "Bilješke", "Grad"]  # root reads Croatian
    assert rows == [
        ["'=cmd|' /C calc'!A0", "'+1", "'@SUM(1+1)", "Split"],
        ["'-2+3", "", "'=1\r\n=2", "Split"],
    ]
    # The list's page links to exactly this export (its shape's query string).
    page = root.get(f"/partners?{query}").text
    shaped = "city=split&amp;sort=-name&amp;cols=name%2Cphones%2Cnotes%2Ccity"
    assert f'href="/lists/partners/export.csv?{shaped}"' in page


def test_the_export_takes_the_export_right(live_shop: Shop, login_as: LoginAs) -> None:
    alice = login_as("alice")  # staff: she sees her deals but may not export them
    assert alice.get("/lists/deals/export.csv").status_code == 403
    assert 'data-testid="export"' not in alice.get("/deals").text
    assert login_as("root").get("/lists/nothing/export.csv").status_code == 404
    assert login_as("root").get("/lists/deals/export.csv?sort=password").status_code == 422


def test_amounts_are_numbers_with_their_currency_beside(live_shop: Shop, login_as: LoginAs) -> None:
    dave = login_as("dave")  # manages alice's and bob's team: exports what they own
    header, *rows = read_csv(dave.get("/lists/deals/export.csv?cols=title,amount,probability"))
    assert header == ["Title", "Amount", "Amount: currency", "Probability"]
    assert rows == [  # every deal of theirs (a shaped list), soonest close first
        ["Stari posao", "700.00", "EUR", "100"],
        ["Vage", "200.00", "EUR", "10"],
        ["Hladnjaci", "5,000.00", "EUR", "20"],
        ["Police", "300.00", "USD", "40"],
        ["Blagajne", "1,000.00", "EUR", "50"],
    ]


def test_everyone_exports_their_own_mail_and_administrators_the_history(
    committed: Cast, login_as: LoginAs, database: Database, settings: Settings
) -> None:
    mail(database, settings, committed.bob, "alice@groupware.local", "=Ponuda za Split")
    mail(database, settings, committed.bob, "dave@groupware.local", "Samo za Davea")
    alice = login_as("alice")
    assert 'data-testid="export"' in alice.get("/mail").text
    header, *rows = read_csv(alice.get("/lists/mail/export.csv?cols=who,subject"))
    assert header == ["From or to", "Subject"]
    assert rows == [["Bob", "'=Ponuda za Split"]]  # hers only, defused
    # The history (who changed what, when) is an audit: the administrators' to export.
    with database.transaction(actor_id=committed.root.id, channel="web") as session:
        make_partner(session, SYSTEM, "Drvo d.o.o.")
    assert alice.get("/lists/history/export.csv").status_code == 403
    assert 'data-testid="export"' not in alice.get("/history").text
    root = login_as("root")
    assert 'data-testid="export"' in root.get("/history").text
    header, *rows = read_csv(root.get("/lists/history/export.csv?cols=action,record"))
    assert header == ["Radnja", "Zapis"]
    assert ["stvoreno", "Drvo d.o.o."] in rows
