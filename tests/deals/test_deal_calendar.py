"""A deal's phase deadline as a to-do in its owner's CRM task list."""

from __future__ import annotations

from sqlalchemy.orm import Session

from groupware.caldav import store
from groupware.deals.service import CloseIn, close_deal, move_deal, phases_of, reopen_deal
from tests.deals.conftest import START, Setup, new_deal


def _todo(db: Session, deal_id: int) -> tuple[int, str] | None:
    rows = store.item_by_source(db, f"deal:{deal_id}")
    assert len(rows) <= 1
    return (rows[0].calendar.owner_id, rows[0].ics or "") if rows else None


def test_the_phase_deadline_follows_the_deal(db: Session, setup: Setup) -> None:
    cast = setup.cast
    deal = new_deal(db, setup, title="Blagajne")
    owner, ics = _todo(db, deal.id) or (0, "")
    assert owner == cast.alice.id
    assert "SUMMARY:Qualify: Blagajne" in ics and f"DUE;VALUE=DATE:{deal.phase_due:%Y%m%d}" in ics
    offer = phases_of(db, deal)[1]
    move_deal(db, cast.who(db, cast.alice), deal.id, offer.id, START)
    assert "SUMMARY:Offer: Blagajne" in (_todo(db, deal.id) or (0, ""))[1]
    close_deal(db, cast.who(db, cast.alice), deal.id, CloseIn(status="won"))
    assert _todo(db, deal.id) is None  # closed: gone from the list
    reopen_deal(db, cast.who(db, cast.alice), deal.id)
    assert _todo(db, deal.id) is not None
