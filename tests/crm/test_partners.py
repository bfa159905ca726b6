from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import get_for_user
from groupware.accounts.users import UserUpdate, update_user
from groupware.crm.models import Partner, PartnerRep
from groupware.crm.partners import (
    PartnerFilter,
    PartnerIn,
    find_duplicates,
    list_partners,
    set_reps,
    update_partner,
    values_of,
)
from groupware.crm.territories import assignment
from groupware.errors import Invalid, NotFound
from groupware.history.service import record_changes
from groupware.validation import validate
from tests.factories import Cast, county_id, make_partner, make_rule, make_territory, role_id


@pytest.fixture
def sales(db: Session, cast: Cast) -> Cast:
    """alice and bob are sales reps of the territory "Zagreb" (Grad Zagreb, HR-21),
    charlie of "Dalmacija" (Split-Dalmatia, HR-17)."""
    for user in (cast.alice, cast.bob, cast.charlie):
        update_user(
            db, user, UserUpdate(role_ids=[role_id(db, "sales")]), mail_domain="groupware.local"
        )
    zagreb = make_territory(db, "Zagreb", counties=("HR-21",))
    dalmacija = make_territory(db, "Dalmacija", counties=("HR-17",))
    make_rule(db, zagreb, (cast.alice, cast.bob))
    make_rule(db, dalmacija, (cast.charlie,))
    return cast


def who(db: Session, cast: Cast, user):  # type: ignore[no-untyped-def]
    return cast.who(db, user)


def test_oib_vat_and_address_are_checked() -> None:
    problems = [
        ({"oib": "12345678901"}, "oib"),
        ({"vat_id": "DE123"}, "vat_id"),
        ({"email": "not an address"}, "email"),
        ({"postal_code": "1000"}, ""),
        ({"country": "XX"}, "country"),
        ({"oib": "69435151530", "vat_id": "HR12345678903"}, ""),
    ]
    for values, field in problems:
        with pytest.raises(Invalid) as caught:
            validate(PartnerIn, {"name": "X", **values})
        assert field in caught.value.errors, values
    ok = validate(
        PartnerIn,
        {"name": "X", "oib": "HR 69435151530", "vat_id": "hr69435151530", "web": "firma.hr"},
    )
    assert (ok.oib, ok.vat_id, ok.web) == ("69435151530", "HR69435151530", "https://firma.hr")


def test_a_new_partner_gets_reps_and_territory_by_the_table(db: Session, sales: Cast) -> None:
    partner = make_partner(
        db, who(db, sales, sales.root), "Konzum d.d.", postal_code="10000", city="Zagreb"
    )
    assert partner.county_id == county_id(db, "HR-21")  # derived from the postal code
    assert partner.territory.name == "Zagreb"
    assert partner.owner_id == sales.alice.id
    assert [r.user_id for r in partner.reps] == [sales.bob.id]
    changes = record_changes(db, "partners", partner.id)
    assert any("assignment_rule_id" in c.changes for c in changes)


def test_territory_scope_lets_reps_see_their_territory_only(db: Session, sales: Cast) -> None:
    zagreb = make_partner(db, who(db, sales, sales.root), "Zagrebačka tvrtka", postal_code="10000")
    split = make_partner(
        db, who(db, sales, sales.root), "Splitska tvrtka", postal_code="21000", city="Split"
    )
    assert split.owner_id == sales.charlie.id
    charlie = who(db, sales, sales.charlie)
    assert [p.id for p in list_partners(db, charlie, PartnerFilter())] == [split.id]
    with pytest.raises(NotFound):
        get_for_user(db, charlie, Partner, zagreb.id)
    # dave manages North, where alice and bob are: he sees the Zagreb partner (team).
    dave = who(db, sales, sales.dave)
    assert zagreb.id in [p.id for p in list_partners(db, dave, PartnerFilter())]
    assert split.id not in [p.id for p in list_partners(db, dave, PartnerFilter())]


def test_uncovered_partners_land_in_the_unassigned_queue(db: Session, sales: Cast) -> None:
    partner = make_partner(
        db, who(db, sales, sales.root), "Osječka tvrtka", postal_code="31000", city="Osijek"
    )
    assert partner.owner_id is None and partner.territory_id is None
    unassigned = list_partners(db, who(db, sales, sales.root), PartnerFilter(unassigned=True))
    assert [p.id for p in unassigned] == [partner.id]
    assert assignment.unassigned_count(db) == 1


def test_a_creator_outside_the_table_keeps_access(db: Session, sales: Cast) -> None:
    partner = make_partner(
        db, who(db, sales, sales.alice), "Osijek d.o.o.", postal_code="31000", city="Osijek"
    )
    assert partner.owner_id is None
    assert [r.user_id for r in partner.reps] == [sales.alice.id]
    assert get_for_user(db, who(db, sales, sales.alice), Partner, partner.id, "edit") is partner


def test_moving_a_partner_reassigns_it_unless_reps_were_chosen_by_hand(
    db: Session, sales: Cast
) -> None:
    root = who(db, sales, sales.root)
    partner = make_partner(db, root, "Selidba d.o.o.", postal_code="10000")
    data = PartnerIn(
        **{**values_of(db, partner), "postal_code": "21000", "city": "Split", "county_id": None}
    )  # type: ignore[arg-type]
    update_partner(db, partner, data, who=root)
    assert partner.owner_id == sales.charlie.id and partner.reps == []
    set_reps(db, partner, owner_id=sales.bob.id, rep_ids=[sales.alice.id])
    back = PartnerIn(
        **{**values_of(db, partner), "postal_code": "10000", "city": "Zagreb", "county_id": None}
    )  # type: ignore[arg-type]
    update_partner(db, partner, back, who=root)
    assert partner.territory.name == "Zagreb"  # the territory follows the address
    assert partner.owner_id == sales.bob.id  # the reps stay as chosen
    assert [r.user_id for r in partner.reps] == [sales.alice.id]
    set_reps(db, partner, owner_id=None, rep_ids=[], automatic=True)
    assert partner.owner_id == sales.alice.id and not partner.manual_assignment


def test_dry_run_lists_changes_and_reassign_all_applies_them_with_history(
    db: Session, sales: Cast
) -> None:
    root = who(db, sales, sales.root)
    first = make_partner(db, root, "Prvi d.o.o.", postal_code="10000")
    second = make_partner(db, root, "Drugi d.o.o.", postal_code="10000")
    set_reps(db, second, owner_id=sales.dave.id, rep_ids=[])
    # A new rule for Zagreb with a better priority names charlie.
    zagreb = first.territory
    rule = make_rule(db, zagreb, (sales.charlie,), priority=10)
    matcher = assignment.load_matcher(db)
    total, sample = assignment.preview_reassignment(db, matcher)
    assert total == 1 and sample[0].partner_id == first.id and sample[0].rule_id == rule.id
    assert db.get(Partner, first.id).owner_id == sales.alice.id  # type: ignore[union-attr]
    assert assignment.reassign_all(db, matcher) == 1
    db.expire_all()
    assert db.get(Partner, first.id).owner_id == sales.charlie.id  # type: ignore[union-attr]
    assert db.get(Partner, second.id).owner_id == sales.dave.id  # type: ignore[union-attr]
    bob_left = db.scalar(select(PartnerRep).where(PartnerRep.partner_id == first.id))
    assert bob_left is None
    last = record_changes(db, "partners", first.id)[0]
    assert last.changes["assignment_rule_id"][1] == rule.id and last.channel == "cli"
    forced = assignment.reassign_all(db, matcher, force=True)
    assert forced == 1 and db.get(Partner, second.id).owner_id == sales.charlie.id  # type: ignore[union-attr]


def test_duplicates_are_found_by_oib_name_and_city_or_email(db: Session, sales: Cast) -> None:
    root = who(db, sales, sales.root)
    original = make_partner(db, root, "Konzum d.d.", oib="69435151530", email="info@konzum.hr")
    for values in (
        {"name": "Drugo ime", "oib": "69435151530"},
        {"name": "KONZUM, d. d.", "city": "Zagreb"},
        {"name": "Treće", "email": "INFO@konzum.hr"},
    ):
        found = find_duplicates(db, root, validate(PartnerIn, values))
        assert [d.partner.id for d in found if d.partner] == [original.id], values
    # Charlie may not see it: he learns that there is one, not which.
    hidden = find_duplicates(
        db,
        who(db, sales, sales.charlie),
        validate(PartnerIn, {"name": "Konzum d.d.", "city": "Zagreb"}),
    )
    assert [(d.partner, d.reason) for d in hidden] == [(None, "name_city")]
    with pytest.raises(Invalid):
        make_partner(db, root, "Kopija", oib="69435151530")


def test_list_filters_and_search(db: Session, sales: Cast) -> None:
    root = who(db, sales, sales.root)
    a = make_partner(
        db,
        root,
        "Čakovečki mlinovi d.d.",
        postal_code="40000",
        city="Čakovec",
        tags=["Mlin", "VIP"],
    )
    b = make_partner(db, root, "Zagrebački holding", postal_code="10000", kind="company")

    def names(**f: object) -> list[str]:
        return [p.name for p in list_partners(db, root, PartnerFilter(**f))]  # type: ignore[arg-type]

    assert names(q="cakovecki") == ["Čakovečki mlinovi d.d."]
    assert names(q="MLINOVI") == ["Čakovečki mlinovi d.d."]
    assert names(tag="vip") == [a.name]
    assert names(county_id=county_id(db, "HR-21")) == [b.name]
    assert names(rep_id=sales.alice.id) == [b.name]
    assert names(city="čakovec") == [a.name]
    assert names(sort="-name") == [b.name, a.name]


def test_the_best_rule_wins_across_overlapping_territories(db: Session, sales: Cast) -> None:
    # "A-centar" sorts before "Zagreb" and also covers 10000, but its rule is worse.
    centre = make_territory(db, "A-centar", postal_from="10000", postal_to="10000")
    make_rule(db, centre, (sales.charlie,), priority=500)
    partner = make_partner(db, who(db, sales, sales.root), "Centar d.o.o.", postal_code="10000")
    assert partner.owner_id == sales.alice.id and partner.territory.name == "Zagreb"
    make_rule(db, centre, (sales.dave,), priority=1)
    matcher = assignment.load_matcher(db)
    assert matcher.for_partner(partner).owner_id == sales.dave.id
