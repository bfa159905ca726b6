"""A shaped list's page, order and totals, through the access filter."""

from __future__ import annotations

import decimal

import pytest
from sqlalchemy.orm import Session

from groupware.access.policy import load_who
from groupware.deals.lists import DEALS
from groupware.errors import Invalid
from groupware.lists import engine
from groupware.lists.shape import read
from tests.factories import Cast
from tests.lists.conftest import Shop

D = decimal.Decimal


def test_the_totals_add_up_every_matching_row_the_user_may_see(
    db: Session, cast: Cast, shop: Shop
) -> None:
    alice, root = load_who(db, cast.alice), load_who(db, cast.root)
    everything = read(DEALS, [("status", ""), ("cols", "title,amount,weighted")])
    # alice may not see bob's Hladnjaci (5000 EUR): it is not counted for her.
    assert engine.totals(db, everything, alice) == {
        "amount": [("EUR", D("1900.00")), ("USD", D("300.00"))],
        # the won deal counts in full (its probability is 100 % once won)
        "weighted": [("EUR", D("1220.00")), ("USD", D("120.00"))],
    }
    assert engine.totals(db, everything, root)["amount"] == [
        ("EUR", D("6900.00")),
        ("USD", D("300.00")),
    ]
    # Over every matching row, not only the page; the filters apply.
    page_of_one = read(DEALS, [("status", "open"), ("cols", "title,amount")])
    assert engine.totals(db, page_of_one, alice) == {
        "amount": [("EUR", D("1200.00")), ("USD", D("300.00"))]
    }
    assert "amount" not in engine.totals(db, read(DEALS, [("cols", "title")]), alice)


def test_a_page_follows_the_sort_and_shows_only_what_the_user_may_see(
    db: Session, cast: Cast, shop: Shop
) -> None:
    alice, root = load_who(db, cast.alice), load_who(db, cast.root)

    def titles(who: object, *pairs: tuple[str, str]) -> list[str]:
        return [row.title for row in engine.page(db, read(DEALS, pairs), who)]  # type: ignore[arg-type]

    assert titles(alice) == ["Vage", "Police", "Blagajne"]  # open, soonest close first
    assert titles(alice, ("status", ""), ("sort", "-amount")) == [
        "Blagajne",
        "Stari posao",
        "Police",
        "Vage",
    ]
    by_partner = ["Blagajne", "Vage", "Police", "Stari posao", "Hladnjaci"]
    assert titles(root, ("sort", "partner")) == by_partner
    assert titles(root, ("sort", "-partner"))[0] == "Hladnjaci"
    assert titles(root, ("owner_id", str(cast.bob.id))) == ["Hladnjaci"]


def test_a_filter_the_list_cannot_use_is_refused(db: Session, cast: Cast) -> None:
    from groupware.crm.lists import PARTNERS

    with pytest.raises(Invalid) as refused:
        engine.page(db, read(PARTNERS, [("status", "merged")]), load_who(db, cast.root))
    assert "status" in refused.value.errors
