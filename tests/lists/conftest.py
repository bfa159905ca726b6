"""A small shop for the list tests: a deal type with three phases, alice's partner
Konzum with her deals (one won, one in US dollars), bob's partner Studenac with a deal
alice may not see. Built in the test's rolled-back session (``shop``) or committed for
the real server (``live_shop``)."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM
from groupware.crm.partners import set_reps
from groupware.db import Database
from groupware.deals.service import CloseIn, DealIn, close_deal, create_deal
from groupware.deals.types import StepIn, TypeIn, save_type
from tests.factories import Cast, make_partner


@dataclass
class Shop:
    type_id: int
    steps: list[int]
    partners: dict[str, int]
    deals: dict[str, int]


# title: (owner, partner, amount, currency, probability, expected close)
DEALS = {
    "Blagajne": ("alice", "Konzum d.d.", "1000.00", "EUR", 50, dt.date(2026, 5, 1)),
    "Vage": ("alice", "Konzum d.d.", "200.00", "EUR", 10, dt.date(2026, 3, 1)),
    "Police": ("alice", "Konzum d.d.", "300.00", "USD", 40, dt.date(2026, 4, 1)),
    "Stari posao": ("alice", "Konzum d.d.", "700.00", "EUR", 60, dt.date(2026, 2, 1)),
    "Hladnjaci": ("bob", "Studenac", "5000.00", "EUR", 20, dt.date(2026, 3, 15)),
}


def build_shop(session: Session, cast: Cast) -> Shop:
    steps = [StepIn(name=n, planned_days=d) for n, d in (("Qualify", 5), ("Offer", 10))]
    steps.append(StepIn(name="Negotiate", planned_days=15))
    sale = save_type(session, SYSTEM, None, TypeIn(name="Retail", direction="sale", phases=steps))
    owners = {"alice": cast.alice.id, "bob": cast.bob.id}
    partners = {}
    for name, city, postal, owner in (
        ("Konzum d.d.", "Zagreb", "10000", "alice"),
        ("Studenac", "Split", "21000", "bob"),
    ):
        partner = make_partner(session, SYSTEM, name, city=city, postal_code=postal)
        set_reps(session, partner, owner_id=owners[owner], rep_ids=[])
        partners[name] = partner.id
    deals = {}
    for title, (owner, partner, amount, currency, probability, close) in DEALS.items():
        data = DealIn(
            title=title,
            partner_id=partners[partner],
            type_id=sale.id,
            owner_id=owners[owner],
            amount=decimal.Decimal(amount),
            currency=currency,
            probability=probability,
            started_on=dt.date(2026, 1, 5),
            expected_close=close,
        )
        deals[title] = create_deal(session, SYSTEM, data).id
    close_deal(session, SYSTEM, deals["Stari posao"], CloseIn(status="won", on=dt.date(2026, 2, 1)))
    session.flush()
    return Shop(sale.id, [p.id for p in sale.phases], partners, deals)


@pytest.fixture
def shop(db: Session, cast: Cast) -> Shop:
    return build_shop(db, cast)


@pytest.fixture
def live_shop(committed: Cast, database: Database) -> Shop:
    with database.transaction(actor_id=None, channel="cli") as session:
        return build_shop(session, committed)
