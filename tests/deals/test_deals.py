from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.access.policy import get_for_user
from groupware.activities.service import ActivityIn, add_activity
from groupware.crm.documents import DocumentIn, upsert_document
from groupware.deals.models import Deal
from groupware.deals.service import (
    CloseIn,
    DealIn,
    close_deal,
    get_deal_for_user,
    link_document,
    move_deal,
    phases_of,
    reopen_deal,
    update_deal,
)
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.history.service import record_changes
from groupware.phases import engine
from groupware.phases.models import ProcessType
from groupware.validation import validate
from tests.deals.conftest import START, Setup, deal_data, new_deal


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def test_a_deal_gets_planned_phases_from_its_type_and_starts_in_the_first(
    db: Session, setup: Setup
) -> None:
    deal = new_deal(db, setup)
    phases = phases_of(db, deal)
    assert [(p.name, p.planned_start, p.planned_end) for p in phases] == [
        ("Qualify", START, START + days(5)),
        ("Offer", START + days(5), START + days(15)),
        ("Negotiate", START + days(15), START + days(30)),
    ]
    assert deal.phase_id == phases[0].id and phases[0].actual_start == START
    assert deal.phase_due == START + days(5)
    assert deal.owner_id == setup.cast.alice.id and deal.status == "open"
    entered, created = record_changes(db, "deals", deal.id)
    assert (created.action, entered.action, set(entered.changes)) == (
        "create",
        "update",
        {"phase_id"},
    )


def test_moving_forward_skips_and_back_clears_and_closing_ends_the_phase(
    db: Session, setup: Setup
) -> None:
    alice = setup.cast.who(db, setup.cast.alice)
    deal = new_deal(db, setup)
    qualify, offer, negotiate = phases_of(db, deal)
    move_deal(db, alice, deal.id, negotiate.id, START + days(4))
    assert (qualify.actual_end, offer.actual_start, negotiate.actual_start) == (
        START + days(4),
        None,
        START + days(4),
    )
    states = [s.state for s in engine.timeline(phases_of(db, deal), START + days(4))]
    assert states == ["done", "skipped", "current"]
    assert deal.phase_due == negotiate.planned_end
    move_deal(db, alice, deal.id, offer.id, START + days(6))
    assert (offer.actual_start, negotiate.actual_start) == (START + days(6), None)
    assert deal.phase_id == offer.id
    close_deal(db, alice, deal.id, CloseIn(status="won", on=START + days(20)))
    assert (deal.status, deal.probability, deal.closed_on) == ("won", 100, START + days(20))
    assert offer.actual_end == START + days(20) and deal.phase_due is None
    # five days late against its plan (planned end START + 15)
    assert engine.timeline(phases_of(db, deal), START + days(30))[1].late_days == 5
    reopen_deal(db, alice, deal.id)
    assert (deal.status, deal.closed_on, offer.actual_end) == ("open", None, None)
    assert deal.phase_due == offer.planned_end


def test_impossible_transitions_are_refused_and_change_nothing(db: Session, setup: Setup) -> None:
    alice = setup.cast.who(db, setup.cast.alice)
    deal = new_deal(db, setup)
    other = new_deal(db, setup, type_id=setup.purchase.id, direction="purchase")
    foreign_phase = phases_of(db, other)[1]
    with pytest.raises(Invalid) as caught:
        move_deal(db, alice, deal.id, foreign_phase.id)
    assert "phase_id" in caught.value.errors
    assert deal.phase_id == phases_of(db, deal)[0].id
    with pytest.raises(Invalid) as caught:
        validate(CloseIn, {"status": "lost"})
    assert deal.status == "open"
    for values, field in (
        ({"amount": "-5"}, "amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"probability": 120}, "probability"),
        ({"started_on": START, "expected_close": START - days(1)}, "expected_close"),
    ):
        with pytest.raises(Invalid) as caught:
            validate(DealIn, {"title": "X", "partner_id": 1, "type_id": 1, **values})
        assert field in caught.value.errors, values
    with pytest.raises(Invalid) as caught:
        new_deal(db, setup, type_id=setup.purchase.id)  # a purchase type for a sale
    assert "type_id" in caught.value.errors
    assert db.scalar(select(func.count()).select_from(Deal)) == 2
    close_deal(db, alice, deal.id, CloseIn(status="lost", reason="Price", on=START + days(1)))
    with pytest.raises(Invalid):
        move_deal(db, alice, deal.id, phases_of(db, deal)[2].id)
    with pytest.raises(Invalid):
        close_deal(db, alice, deal.id, CloseIn(status="won"))
    assert deal.lost_reason == "Price"


def test_lines_give_the_amount_and_documents_of_the_partner_link(db: Session, setup: Setup) -> None:
    root = setup.cast.who(db, setup.cast.root)
    deal = new_deal(
        db,
        setup,
        lines=[
            {"description": "POS terminal", "quantity": "3", "unit_price": "899.90"},
            {"description": "Installation", "quantity": "1.5", "unit_price": "60"},
        ],
    )
    assert deal.amount == decimal.Decimal("2789.70")
    invoice, _new = upsert_document(
        db,
        root,
        DocumentIn(
            kind="invoice",
            number="R-1/2026",
            date=START,
            partner_id=setup.zagreb_partner.id,
            net_amount=decimal.Decimal("2789.70"),
            gross_amount=decimal.Decimal("3487.13"),
        ),
    )
    link_document(db, root, deal.id, invoice.id)
    assert invoice.deal_id == deal.id
    foreign, _new = upsert_document(
        db,
        root,
        DocumentIn(
            kind="offer",
            number="P-9",
            date=START,
            partner_id=setup.split_partner.id,
            net_amount=decimal.Decimal(1),
            gross_amount=decimal.Decimal(1),
        ),
    )
    with pytest.raises(Invalid):
        link_document(db, root, deal.id, foreign.id)


def test_reps_see_their_own_shared_and_territory_deals_only(db: Session, setup: Setup) -> None:
    cast = setup.cast
    deal = new_deal(db, setup)  # alice's, a Zagreb partner
    split_deal = new_deal(db, setup, cast.charlie, partner_id=setup.split_partner.id, title="Split")
    bob, charlie = cast.who(db, cast.bob), cast.who(db, cast.charlie)
    assert get_deal_for_user(db, bob, deal.id).id == deal.id  # his territory
    with pytest.raises(NotFound):
        get_deal_for_user(db, charlie, deal.id)
    with pytest.raises(NotFound):
        get_deal_for_user(db, bob, split_deal.id)
    # alice cannot start a deal on a partner she cannot see
    with pytest.raises(NotFound):
        new_deal(db, setup, partner_id=setup.split_partner.id)
    # shared with charlie as a further person: he sees it and may log a call
    alice = cast.who(db, cast.alice)
    update_deal(db, alice, deal.id, deal_data(setup, member_ids=[cast.charlie.id]))
    assert get_deal_for_user(db, charlie, deal.id).id == deal.id
    add_activity(db, charlie, "deals", deal.id, ActivityIn(kind="call", body="Called the buyer"))
    assert get_for_user(db, charlie, Deal, deal.id, "edit").id == deal.id


def test_a_write_share_edits_a_deal_but_does_not_change_whom_it_is_shared_with(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    deal = new_deal(db, setup, cast.charlie, partner_id=setup.split_partner.id, title="Split")
    shares.share(db, deal, by_user_id=cast.charlie.id, user_id=cast.bob.id, permission="write")
    bob = cast.who(db, cast.bob)
    kept = deal_data(setup, partner_id=setup.split_partner.id, title="Split, revised")
    assert update_deal(db, bob, deal.id, kept).title == "Split, revised"
    for change in ({"member_ids": [cast.alice.id]}, {"owner_id": cast.bob.id}):
        data = deal_data(setup, partner_id=setup.split_partner.id, title="Split", **change)
        with pytest.raises(Invalid) as refused:
            update_deal(db, bob, deal.id, data)
        assert set(refused.value.errors) == set(change)
    assert deal.owner_id == cast.charlie.id and deal.members == []
    # charlie owns it: he may.
    charlie = cast.who(db, cast.charlie)
    with_alice = deal_data(setup, partner_id=setup.split_partner.id, member_ids=[cast.alice.id])
    assert [m.user_id for m in update_deal(db, charlie, deal.id, with_alice).members] == [
        cast.alice.id
    ]


def test_types_are_edited_by_admins_and_keep_deals_under_way(db: Session, setup: Setup) -> None:
    cast = setup.cast
    deal = new_deal(db, setup)
    with pytest.raises(Forbidden):
        save_type(db, cast.who(db, cast.alice), None, TypeIn(name="X", phases=[StepIn(name="A")]))
    with pytest.raises(Invalid):
        validate(TypeIn, {"name": "X", "phases": [{"name": "A"}, {"name": "a"}]})
    root = cast.who(db, cast.root)
    save_type(
        db,
        root,
        setup.sale.id,
        TypeIn(
            name="Retail sale", direction="sale", phases=[StepIn(name="Qualify", planned_days=2)]
        ),
    )
    assert [p.name for p in setup.sale.phases] == ["Qualify"]
    assert [p.name for p in phases_of(db, deal)] == ["Qualify", "Offer", "Negotiate"]
    assert phases_of(db, deal)[0].planned_end == START + days(5)


def test_a_deal_type_s_name_is_unique_among_deal_types_only(db: Session, setup: Setup) -> None:
    root = setup.cast.who(db, setup.cast.root)
    db.add(ProcessType(process="campaign", name="Newsletter"))  # another process's type
    db.flush()
    made = save_type(db, root, None, TypeIn(name="newsletter", phases=[StepIn(name="A")]))
    assert made.process == "deal"
    with pytest.raises(Invalid) as refused:
        save_type(db, root, None, TypeIn(name="NEWSLETTER", phases=[StepIn(name="A")]))
    assert "name" in refused.value.errors
