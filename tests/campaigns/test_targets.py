"""A campaign's target list as a service: criteria (the partner list's filters and
what the CRM knows of a partner) counted and frozen through the access filter, kept for
a refresh that never drops a target that has a deal or a response; a CSV list whose
unknown rows are listed by number; another campaign's targets; statuses by the rep;
one target per partner (the database's constraint); a merge moves targets."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.accounts.models import User
from groupware.activities.service import ActivityIn, add_activity
from groupware.campaigns import targets
from groupware.campaigns.criteria import Criteria, count, from_stored, save
from groupware.campaigns.models import CampaignTarget
from groupware.campaigns.service import (
    EndIn,
    create_campaign,
    end_campaign,
    get_campaign_for_user,
)
from groupware.crm.documents import DocumentIn, upsert_document
from groupware.crm.merge import merge_partners
from groupware.crm.models import Partner
from groupware.crm.persons import PersonIn, save_person
from groupware.errors import Invalid, NotFound
from groupware.history.service import record_changes
from groupware.phases.models import ProcessType
from groupware.validation import validate
from tests.campaigns.test_campaigns import data, fair
from tests.deals.conftest import Setup, make_setup, new_deal
from tests.factories import Cast, make_partner


@pytest.fixture
def setup(db: Session, cast: Cast) -> Setup:
    return make_setup(db, cast)


def _criteria(**values: str) -> Criteria:
    return validate(Criteria, values)


def _targets(db: Session, campaign_id: int) -> dict[str, CampaignTarget]:
    rows = db.execute(
        select(Partner.name, CampaignTarget)
        .join(Partner, Partner.id == CampaignTarget.partner_id)
        .where(CampaignTarget.campaign_id == campaign_id)
    )
    return {name: target for name, target in rows}


def _campaign(db: Session, setup: Setup, user: str = "root") -> int:
    who = setup.cast.who(db, getattr(setup.cast, user))
    made = db.scalar(select(ProcessType.id).where(ProcessType.name == "Fair"))
    return create_campaign(db, who, data(made or fair(db).id)).id


def test_criteria_are_counted_and_frozen_among_the_partners_one_may_see(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    root, alice = cast.who(db, cast.root), cast.who(db, cast.alice)
    zagreb = setup.zagreb_partner.territory_id
    make_partner(db, root, "Pekara Dubravica d.o.o.", postal_code="10020")
    make_partner(db, root, "Zagorka d.o.o.", postal_code="10360", status="active")
    make_partner(db, root, "Kaštela d.o.o.", city="Kaštela", postal_code="21212")
    assert count(db, root, _criteria(territory_id=str(zagreb))) == 3
    # Alice sees her territory's partners only: Split is never counted for her.
    assert count(db, alice, _criteria(postal_from="10000", postal_to="21999")) == 3
    assert count(db, root, _criteria(postal_from="10000", postal_to="21999")) == 5
    assert count(db, root, _criteria(postal_from="10010", postal_to="10400")) == 2

    campaign_id = _campaign(db, setup, "alice")
    added = targets.freeze(db, alice, campaign_id, _criteria(postal_from="10000"))
    assert (added.added, added.already, added.total) == (3, 0, 3)
    listed = _targets(db, campaign_id)
    assert set(listed) == {"Konzum d.d.", "Pekara Dubravica d.o.o.", "Zagorka d.o.o."}
    konzum = listed["Konzum d.d."]
    assert konzum.status == "new" and konzum.source == "criteria"
    assert konzum.rep_id == setup.zagreb_partner.owner_id is not None
    # The same criteria again add nothing: a partner is on a list once.
    again = targets.freeze(db, alice, campaign_id, _criteria(postal_from="10000"))
    assert (again.added, again.already, again.total) == (0, 3, 3)
    sizes = [
        c.changes["targets"] for c in record_changes(db, "campaigns", campaign_id)
        if "targets" in c.changes
    ]  # fmt: skip
    assert sizes == [[0, 3]]  # one history row per change of the list, none for nothing


def test_what_the_crm_knows_narrows_the_criteria(db: Session, setup: Setup) -> None:
    cast = setup.cast
    root = cast.who(db, cast.root)
    konzum, studenac = setup.zagreb_partner, setup.split_partner
    pekara = make_partner(db, root, "Pekara Dubravica d.o.o.", postal_code="10020")
    for number, partner, amount, day in (
        ("R-1", konzum, "1500.00", dt.date(2026, 3, 1)),
        ("R-2", konzum, "700.00", dt.date(2026, 4, 1)),
        ("R-3", studenac, "900.00", dt.date(2026, 3, 15)),
        ("R-4", pekara, "5000.00", dt.date(2025, 3, 15)),  # before the period
    ):
        upsert_document(
            db,
            root,
            DocumentIn(
                kind="invoice", number=number, date=day, partner_id=partner.id,
                net_amount=decimal.Decimal(amount), gross_amount=decimal.Decimal(amount),
            ),
        )  # fmt: skip

    def names(**values: str) -> set[str]:
        campaign_id = _campaign(db, setup)
        try:
            targets.freeze(db, root, campaign_id, _criteria(**values))
        except Invalid:
            return set()
        return set(_targets(db, campaign_id))

    period = {"revenue_from": "2026-01-01", "revenue_to": "2026-12-31"}
    assert names(**period) == {"Konzum d.d.", "Studenac d.o.o."}
    assert names(revenue_min="2000", **period) == {"Konzum d.d."}  # 1500 + 700
    assert names(revenue_min="2000") == {"Konzum d.d.", "Pekara Dubravica d.o.o."}

    new_deal(db, setup, partner_id=konzum.id, started_on=dt.date(2026, 6, 1))
    assert "Konzum d.d." not in names(no_deal_since="2026-05-01")
    assert "Konzum d.d." in names(no_deal_since="2026-07-01")
    assert names(open_deal="has") == {"Konzum d.d."}
    assert names(open_deal="has", open_deal_type_id=str(setup.purchase.id)) == set()
    assert "Konzum d.d." not in names(open_deal="lacks", open_deal_type_id=str(setup.sale.id))

    called = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    add_activity(
        db, root, "partners", studenac.id,
        ActivityIn(kind="call", body="Ponuda", direction="out", occurred_at=called),
    )  # fmt: skip
    assert "Studenac d.o.o." not in names(no_contact_since="2026-05-01")
    assert "Studenac d.o.o." in names(no_contact_since="2026-06-01")

    for partner, name, agrees in ((pekara, "Horvat", True), (konzum, "Kovač", False)):
        person = PersonIn(
            partner_id=partner.id, last_name=name, email=f"{name}@x.hr", mailing_consent=agrees
        )
        save_person(db, root, None, person)
    assert names(consent="1") == {"Pekara Dubravica d.o.o."}


def test_criteria_that_match_nobody_or_make_no_sense_are_refused_naming_the_field(
    db: Session, setup: Setup
) -> None:
    root = setup.cast.who(db, setup.cast.root)
    campaign_id = _campaign(db, setup)
    with pytest.raises(Invalid) as nothing:
        targets.freeze(db, root, campaign_id, _criteria(city="Vukovar"))
    assert "criteria" in nothing.value.errors
    assert _targets(db, campaign_id) == {}
    for bad, field in (
        ({"postal_from": "21000", "postal_to": "10000"}, "postal_to"),
        ({"revenue_from": "2026-05-01", "revenue_to": "2026-01-01"}, "revenue_to"),
        ({"open_deal_type_id": str(setup.sale.id)}, "open_deal_type_id"),
        ({"revenue_min": "-5"}, "revenue_min"),
        ({"no_deal_since": "32.13.2026."}, "no_deal_since"),
    ):
        with pytest.raises(Invalid) as refused:
            _criteria(**bad)
        assert field in refused.value.errors, bad


def test_a_refresh_adds_new_matches_and_keeps_targets_that_were_worked_on(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    root = cast.who(db, cast.root)
    campaign_id = _campaign(db, setup)
    prospect = {"status": "prospect"}
    pekara = make_partner(db, root, "Pekara Dubravica d.o.o.", postal_code="10020", **prospect)
    zagorka = make_partner(db, root, "Zagorka d.o.o.", postal_code="10360", **prospect)
    mlin = make_partner(db, root, "Mlin Zrno d.o.o.", postal_code="10360", **prospect)
    setup.zagreb_partner.status = setup.split_partner.status = "active"
    db.flush()
    targets.freeze(db, root, campaign_id, _criteria(status="prospect"))
    listed = _targets(db, campaign_id)
    assert set(listed) == {"Pekara Dubravica d.o.o.", "Zagorka d.o.o.", "Mlin Zrno d.o.o."}
    campaign = get_campaign_for_user(db, root, campaign_id)
    assert from_stored(campaign.criteria) == _criteria(status="prospect")
    targets.set_status(db, root, [listed["Zagorka d.o.o."].id], "interested")
    listed["Mlin Zrno d.o.o."].deal_id = new_deal(db, setup, cast.root, partner_id=mlin.id).id
    db.flush()
    # None of the three matches any more; a new partner does.
    for partner in (pekara, zagorka, mlin):
        partner.status = "active"
    make_partner(db, root, "Kraš d.d.", postal_code="10000", **prospect)
    db.flush()
    refreshed = targets.refresh(db, root, campaign_id)
    assert (refreshed.added, refreshed.dropped, refreshed.total) == (1, 1, 3)
    # The untouched one went; the one that answered and the one with a deal stayed.
    assert set(_targets(db, campaign_id)) == {"Zagorka d.o.o.", "Mlin Zrno d.o.o.", "Kraš d.d."}
    other = _campaign(db, setup)
    with pytest.raises(Invalid) as never:
        targets.refresh(db, root, other)
    assert "criteria" in never.value.errors


def test_a_csv_list_adds_the_partners_it_names_and_lists_the_rows_that_name_nobody(
    db: Session, setup: Setup, tmp_path: Path
) -> None:
    cast = setup.cast
    root, alice = cast.who(db, cast.root), cast.who(db, cast.alice)
    make_partner(db, root, "Pekara Dubravica d.o.o.", postal_code="10020", oib="69435151530",
                 external_id="K-77")  # fmt: skip
    make_partner(db, root, "Zagorka d.o.o.", postal_code="10360", email="info@zagorka.hr")
    make_partner(db, root, "Solana Pag d.d.", city="Split", postal_code="21000", oib="94577403194")
    listing = tmp_path / "ciljevi.csv"
    listing.write_text(
        "Naziv;OIB;Šifra;E-mail\n"
        "Pekara;HR69435151530;;\n"
        "Zagorka;;;INFO@zagorka.hr\n"
        "Nepoznati;12345678903;;\n"
        "Solana;94577403194;;\n"  # Split: not alice's territory, reads as unknown to her
        "Prazno;;;\n"
        "Pekara opet;;K-77;\n",
        encoding="cp1250",
    )
    campaign_id = _campaign(db, setup, "alice")
    added = targets.add_from_csv(db, alice, campaign_id, listing)
    assert (added.added, added.already, added.unmatched) == (2, 0, 3)
    assert [p.row for p in added.problems] == [4, 5, 6]
    assert "12345678903" in added.problems[0].message
    assert "94577403194" in added.problems[1].message  # the same words as a missing one
    assert set(_targets(db, campaign_id)) == {"Pekara Dubravica d.o.o.", "Zagorka d.o.o."}
    assert {t.source for t in _targets(db, campaign_id).values()} == {"csv"}

    bare = tmp_path / "bare.csv"
    bare.write_text("info@zagorka.hr\n69435151530\nK-77\n", encoding="utf-8")
    other = _campaign(db, setup, "alice")
    assert targets.add_from_csv(db, alice, other, bare).added == 2
    with pytest.raises(Invalid) as empty:
        (tmp_path / "empty.csv").write_bytes(b"")
        targets.add_from_csv(db, alice, other, tmp_path / "empty.csv")
    assert "file" in empty.value.errors


def test_another_campaign_s_targets_by_status_and_partners_picked_by_hand(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    root = cast.who(db, cast.root)
    first = _campaign(db, setup)
    pekara = make_partner(db, root, "Pekara Dubravica d.o.o.", postal_code="10020")
    targets.add_partners(
        db, root, first, [setup.zagreb_partner.id, pekara.id, setup.split_partner.id]
    )
    listed = _targets(db, first)
    assert {t.source for t in listed.values()} == {"hand"}
    targets.set_status(db, root, [listed["Pekara Dubravica d.o.o."].id], "interested")
    second = _campaign(db, setup)
    added = targets.add_from_campaign(db, root, second, first, ["interested", "responded"])
    assert added.added == 1 and set(_targets(db, second)) == {"Pekara Dubravica d.o.o."}
    assert targets.add_from_campaign(db, root, second, first).added == 2
    with pytest.raises(Invalid) as none:
        targets.add_from_campaign(db, root, second, first, ["won"])
    assert "other_id" in none.value.errors
    # Charlie may not see alice's campaign: it reads as missing.
    charlie_campaign = _campaign(db, setup, "charlie")
    alices = _campaign(db, setup, "alice")
    with pytest.raises(NotFound):
        targets.add_from_campaign(db, cast.who(db, cast.charlie), charlie_campaign, alices)
    # Alice may not add a partner out of her sight by hand: nothing is added.
    with pytest.raises(Invalid):
        both = [setup.zagreb_partner.id, setup.split_partner.id]
        targets.add_partners(db, cast.who(db, cast.alice), alices, both)
    assert _targets(db, alices) == {}


def test_a_rep_sets_the_status_of_their_targets_and_worked_ones_stay_on_the_list(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    root = cast.who(db, cast.root)
    campaign_id = _campaign(db, setup)
    targets.add_partners(db, root, campaign_id, [setup.zagreb_partner.id, setup.split_partner.id])
    listed = _targets(db, campaign_id)
    konzum, studenac = listed["Konzum d.d."], listed["Studenac d.o.o."]
    rep = cast.who(db, db.get_one(User, konzum.rep_id))
    # A rep works the targets of a campaign they may see (here: shared to read).
    campaign = get_campaign_for_user(db, root, campaign_id)
    shares.share(db, campaign, by_user_id=cast.root.id, user_id=konzum.rep_id)
    before = targets.set_status(db, rep, [konzum.id], "responded")
    assert before == {konzum.id: "new"} and konzum.responded_at is not None
    with pytest.raises(Invalid):
        targets.set_status(db, rep, [studenac.id], "contacted")  # not their partner
    assert targets.put_back_statuses(db, root, {str(konzum.id): "new"}) == 1
    assert konzum.status == "new"
    targets.set_status(db, root, [konzum.id], "interested")
    with pytest.raises(Invalid) as kept:
        targets.remove_targets(db, root, [konzum.id, studenac.id])
    assert "target_ids" in kept.value.errors
    assert targets.remove_targets(db, root, [studenac.id]) == 1
    assert set(_targets(db, campaign_id)) == {"Konzum d.d."}
    with pytest.raises(Invalid):
        targets.set_status(db, root, [konzum.id], "maybe")
    end_campaign(db, root, campaign_id, EndIn(status="finished"))
    with pytest.raises(Invalid) as ended:
        targets.add_partners(db, root, campaign_id, [setup.split_partner.id])
    assert "campaign_id" in ended.value.errors


def test_the_database_refuses_a_partner_twice_on_a_list_and_a_merge_moves_targets(
    db: Session, setup: Setup
) -> None:
    root = setup.cast.who(db, setup.cast.root)
    campaign_id = _campaign(db, setup)
    dup = make_partner(db, root, "Konzum d.d. (dvojnik)", postal_code="10000")
    targets.add_partners(db, root, campaign_id, [dup.id])
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(CampaignTarget(campaign_id=campaign_id, partner_id=dup.id))
        db.flush()
    merge_partners(db, setup.zagreb_partner, dup, by_user_id=None)
    assert set(_targets(db, campaign_id)) == {"Konzum d.d."}
    saved = save(db, root, "Zagreb", _criteria(postal_from="10000", postal_to="10999"))
    assert from_stored(saved.criteria).postal_to == "10999"
