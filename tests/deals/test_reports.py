"""Reports checked against totals worked out by hand from the deals below."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy.orm import Session

from groupware.crm.documents import DocumentIn, upsert_document
from groupware.deals import reports
from groupware.deals.service import CloseIn, close_deal, link_document
from tests.deals.conftest import START, Setup, new_deal

D = decimal.Decimal
APRIL, MAY = dt.date(2026, 4, 1), dt.date(2026, 5, 1)
PERIOD = (dt.date(2026, 4, 1), dt.date(2026, 5, 31))


@pytest.fixture
def book(db: Session, setup: Setup) -> Setup:
    """alice: A 1000 at 40% closing 15.4., B 2500 at 20% closing 10.5., a purchase E
    800 at 50% closing 30.4., F 100 at 10% closing in July, G in USD; bob: C 3000 won
    on 20.4. (invoiced 1200 on 5.4.), D lost on 25.4., H won on 12.3. An invoice of
    300 on 2.5. without a deal (the partner's rep is alice) and a cancelled one."""
    cast = setup.cast
    alice, bob = cast.who(db, cast.alice), cast.who(db, cast.bob)
    new_deal(db, setup, title="A", amount="1000", probability=40, expected_close="2026-04-15")
    new_deal(db, setup, title="B", amount="2500", probability=20, expected_close="2026-05-10")
    new_deal(
        db,
        setup,
        title="E",
        direction="purchase",
        type_id=setup.purchase.id,
        amount="800",
        probability=50,
        expected_close="2026-04-30",
        source="phone",
    )
    new_deal(db, setup, title="F", amount="100", probability=10, expected_close="2026-07-01")
    new_deal(db, setup, title="G", amount="5000", currency="USD", expected_close="2026-04-15")
    c = new_deal(db, setup, cast.bob, title="C", amount="3000", source="fair")
    d = new_deal(db, setup, cast.bob, title="D", amount="700")
    h = new_deal(db, setup, cast.bob, title="H", amount="50")
    close_deal(db, bob, c.id, CloseIn(status="won", on=dt.date(2026, 4, 20)))
    close_deal(db, bob, d.id, CloseIn(status="lost", reason="Price", on=dt.date(2026, 4, 25)))
    close_deal(db, bob, h.id, CloseIn(status="won", on=dt.date(2026, 3, 12)))
    root = cast.who(db, cast.root)
    partner = setup.zagreb_partner.id
    for number, day, net, status in (
        ("R-1", dt.date(2026, 4, 5), "1200", "open"),
        ("R-2", dt.date(2026, 5, 2), "300", "closed"),
        ("R-3", dt.date(2026, 4, 9), "999", "cancelled"),
    ):
        invoice, _new = upsert_document(
            db,
            root,
            DocumentIn(
                kind="invoice",
                number=number,
                date=day,
                partner_id=partner,
                net_amount=D(net),
                gross_amount=D(net) * D("1.25"),
                status=status,  # type: ignore[arg-type]
            ),
        )
        if number == "R-1":
            link_document(db, alice, c.id, invoice.id)
    return setup


def test_forecast_against_realised_per_month_and_per_rep(db: Session, book: Setup) -> None:
    who = book.cast.who(db, book.cast.root)
    rows = reports.forecast(db, who, *PERIOD)
    assert [(r.month, r.forecast, r.won, r.invoiced) for r in rows] == [
        (APRIL, D("800.00"), D("3000.00"), D("1200.00")),  # A 400 + E 400; C; R-1
        (MAY, D("500.00"), D("0.00"), D("300.00")),  # B 500; R-2
    ]
    by_rep = reports.forecast(db, who, *PERIOD, group_by="owner")
    assert [(r.month, r.key, r.forecast, r.won, r.invoiced) for r in by_rep] == [
        (APRIL, "Alice", D("800.00"), D("0.00"), D("0.00")),
        (APRIL, "Bob", D("0.00"), D("3000.00"), D("1200.00")),  # R-1 is C's
        (MAY, "Alice", D("500.00"), D("0.00"), D("300.00")),  # the partner's rep
    ]
    by_type = reports.forecast(db, who, *PERIOD, group_by="type")
    april = {r.key: r.forecast for r in by_type if r.month == APRIL}
    assert april == {"Retail sale": D("400.00"), "Stock purchase": D("400.00")}
    usd = reports.forecast(db, who, *PERIOD, currency="USD")
    assert [(r.month, r.forecast) for r in usd] == [(APRIL, D("500.00"))]  # 5000 at 10%
    assert reports.totals(rows) == {
        "forecast": D("1300.00"),
        "won": D("3000.00"),
        "invoiced": D("1500.00"),
    }


def test_pipeline_win_rate_cycle_time_and_overdue(db: Session, book: Setup) -> None:
    who = book.cast.who(db, book.cast.root)
    assert [
        (r.type, r.phase, r.count, r.amount, r.weighted) for r in reports.pipeline(db, who)
    ] == [
        ("Retail sale", "Qualify", 3, D("3600.00"), D("910.00")),  # A, B, F
        ("Stock purchase", "Request", 1, D("800.00"), D("400.00")),  # E
    ]
    rates = reports.win_rate(db, who, *PERIOD)
    assert [(r.key, r.won, r.lost, r.rate) for r in rates] == [("Bob", 1, 1, 0.5)]
    cycle = reports.cycle_time(db, who, dt.date(2026, 3, 1), dt.date(2026, 5, 31))
    # C: 2.3. to 20.4. = 49 days, H: 2.3. to 12.3. = 10 days
    assert [(r.type, r.deals, r.average_days) for r in cycle] == [("Retail sale", 2, 29.5)]
    assert reports.overdue(db, who, START + dt.timedelta(days=3)) == []
    late = reports.overdue(db, who, START + dt.timedelta(days=6))
    assert sorted(d.title for d in late) == ["A", "B", "E", "F", "G"]


def test_reports_show_only_what_the_user_may_see(db: Session, book: Setup) -> None:
    cast = book.cast
    charlie = cast.who(db, cast.charlie)  # Dalmacija: none of these partners
    assert reports.forecast(db, charlie, *PERIOD) == []
    assert reports.pipeline(db, charlie) == []
    assert reports.win_rate(db, charlie, *PERIOD) == []
    bob = cast.who(db, cast.bob)  # Zagreb: sees alice's deals through the territory
    assert reports.totals(reports.forecast(db, bob, *PERIOD))["forecast"] == D("1300.00")
