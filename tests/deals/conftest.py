"""The sales set-up of the deal tests: alice and bob are sales reps of the territory
"Zagreb", charlie of "Dalmacija"; dave leads team North (alice's and bob's team); a
sale type and a purchase type with their phase templates; a partner in each territory.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from groupware.accounts.users import UserUpdate, update_user
from groupware.deals.models import Deal
from groupware.deals.service import DealIn, create_deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.phases.models import ProcessType
from tests.crm.conftest import api, sales  # noqa: F401 - fixtures of the API tests
from tests.factories import Cast, make_partner, make_rule, make_territory, role_id

START = dt.date(2026, 3, 2)


@dataclass
class Setup:
    cast: Cast
    sale: ProcessType  # Qualify 5 days, Offer 10, Negotiate 15
    purchase: ProcessType  # Request 3, Order 7
    zagreb_partner: Any
    split_partner: Any


def deal_data(setup: Setup, **values: Any) -> DealIn:
    values.setdefault("title", "Blagajne za 12 trgovina")
    values.setdefault("partner_id", setup.zagreb_partner.id)
    values.setdefault("type_id", setup.sale.id)
    values.setdefault("started_on", START)
    values.setdefault("amount", "12000.00")
    return DealIn(**values)


def new_deal(db: Session, setup: Setup, who_user: Any = None, **values: Any) -> Deal:
    user = who_user or setup.cast.alice
    return create_deal(db, setup.cast.who(db, user), deal_data(setup, **values))


@pytest.fixture
def setup(db: Session, cast: Cast) -> Setup:
    return make_setup(db, cast)


def make_setup(db: Session, cast: Cast) -> Setup:
    for user in (cast.alice, cast.bob, cast.charlie):
        update_user(
            db, user, UserUpdate(role_ids=[role_id(db, "sales")]), mail_domain="groupware.local"
        )
    zagreb = make_territory(db, "Zagreb", counties=("HR-21",))
    dalmacija = make_territory(db, "Dalmacija", counties=("HR-17",))
    make_rule(db, zagreb, (cast.alice, cast.bob))
    make_rule(db, dalmacija, (cast.charlie,))
    root = cast.who(db, cast.root)
    sale = save_type(
        db,
        root,
        None,
        TypeIn(
            name="Retail sale",
            direction="sale",
            phases=[
                StepIn(name="Qualify", planned_days=5),
                StepIn(name="Offer", planned_days=10),
                StepIn(name="Negotiate", planned_days=15),
            ],
        ),
    )
    purchase = save_type(
        db,
        root,
        None,
        TypeIn(
            name="Stock purchase",
            direction="purchase",
            phases=[StepIn(name="Request", planned_days=3), StepIn(name="Order", planned_days=7)],
        ),
    )
    zagreb_partner = make_partner(db, root, "Konzum d.d.", postal_code="10000")
    split_partner = make_partner(db, root, "Studenac d.o.o.", city="Split", postal_code="21000")
    assert zagreb_partner.territory_id == zagreb.id
    assert split_partner.territory_id == dalmacija.id
    return Setup(cast, sale, purchase, zagreb_partner, split_partner)
