"""A campaign's results over time held against figures worked out by hand: its targets
by status and responses against the goal, and per phase and per week the responses,
deals opened, won and lost and the revenue won (in its currency only), through the
access filter; the same rows as CSV."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.campaigns import results, targets
from groupware.campaigns.service import CampaignIn, create_campaign
from groupware.deals.service import CloseIn, close_deal
from tests.campaigns.test_campaigns import START, fair
from tests.deals.conftest import Setup, make_setup, new_deal
from tests.factories import Cast, make_partner

D = decimal.Decimal


@pytest.fixture
def setup(db: Session, cast: Cast) -> Setup:
    return make_setup(db, cast)


def test_results_per_phase_and_week_match_figures_worked_out_by_hand(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    root = cast.who(db, cast.root)
    data = CampaignIn(name="Sajam", type_id=fair(db).id, starts_on=START, expected_responses=4)
    campaign = create_campaign(db, root, data)
    # Phases: Prepare 2 Mar - 16 Mar, Fair 16 - 19 Mar, Follow up 19 - 29 Mar (planned).
    more = [make_partner(db, root, f"Kupac {n}", postal_code="10000") for n in range(3)]
    partners = [setup.zagreb_partner, setup.split_partner, *more]
    targets.add_partners(db, root, campaign.id, [p.id for p in partners])
    listed = {t.partner_id: t for t in db.scalars(
        targets.targets_query(root, campaign.id))}  # fmt: skip
    answered = [
        (setup.zagreb_partner, "interested", dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC)),
        (setup.split_partner, "responded", dt.datetime(2026, 3, 17, 9, tzinfo=dt.UTC)),
        (more[0], "not_interested", dt.datetime(2026, 3, 18, 9, tzinfo=dt.UTC)),
    ]
    for partner, status, when in answered:
        targets.set_status(db, root, [listed[partner.id].id], status)
        listed[partner.id].responded_at = when
    targets.set_status(db, root, [listed[more[1].id].id], "contacted")  # no answer
    db.flush()

    def deal(partner_id: int, started: dt.date, amount: str, currency: str = "EUR") -> int:
        return new_deal(
            db, setup, cast.root, partner_id=partner_id, campaign_id=campaign.id,
            started_on=started.isoformat(), amount=amount, currency=currency,
        ).id  # fmt: skip

    won = deal(setup.zagreb_partner.id, dt.date(2026, 3, 4), "1000.00")
    lost = deal(setup.split_partner.id, dt.date(2026, 3, 17), "500.00")
    usd = deal(more[0].id, dt.date(2026, 3, 20), "700.00", "USD")
    deal(more[1].id, dt.date(2026, 3, 24), "300.00")  # still open
    close_deal(db, root, won, CloseIn(status="won", on=dt.date(2026, 3, 18)))
    close_deal(db, root, lost, CloseIn(status="lost", reason="Cijena", on=dt.date(2026, 3, 25)))
    close_deal(db, root, usd, CloseIn(status="won", on=dt.date(2026, 3, 26)))

    found = results.target_results(db, root, campaign)
    assert found.total == 5 and found.responses == 3
    assert found.statuses["contacted"] == 1 and found.statuses["new"] == 1
    assert found.response_rate == D("60.0") and found.goal_rate == D("75.0")  # 3 of 5, of 4

    by_day = results.days(db, root, campaign)
    by_phase = {
        p.label: (p.responses, p.opened, p.won, p.lost, p.revenue)
        for p in results.phases(db, campaign, by_day)
    }
    assert by_phase == {
        "Prepare": (1, 1, 0, 0, D("0.00")),  # 3 Mar answer, 4 Mar deal
        "Fair": (2, 1, 1, 0, D("1000.00")),  # 17 and 18 Mar answers, 17 Mar deal, won 18 Mar
        "Follow up": (0, 2, 1, 1, D("0.00")),  # deals of 20 and 24 Mar; lost 25, USD won 26
    }
    by_week = {
        p.starts: (p.responses, p.opened, p.won, p.lost, p.revenue)
        for p in results.weeks(campaign, by_day)
        if p.starts <= dt.date(2026, 3, 23)
    }
    assert by_week == {
        dt.date(2026, 3, 2): (1, 1, 0, 0, D("0.00")),
        dt.date(2026, 3, 9): (0, 0, 0, 0, D("0.00")),
        dt.date(2026, 3, 16): (2, 2, 1, 0, D("1000.00")),
        dt.date(2026, 3, 23): (0, 1, 1, 1, D("0.00")),
    }
    # Charlie (the campaign shared with him) sees Split's target and its deal only.
    charlie = cast.who(db, cast.charlie)
    shares.share(db, campaign, by_user_id=cast.root.id, user_id=cast.charlie.id)
    seen = results.target_results(db, charlie, campaign)
    assert seen.total == 1 and seen.responses == 1
    assert sum(d.opened for d in results.days(db, charlie, campaign).values()) == 1

    head = ["kind", "name", "from", "until", "r", "o", "w", "l", "rev", "cur"]
    rows = list(results.csv_rows(campaign, results.phases(db, campaign, by_day),
                                 results.weeks(campaign, by_day), head))  # fmt: skip
    assert rows[0] == head
    assert rows[2] == ["phase", "Fair", "2026-03-16", "2026-03-19", "2", "1", "1", "0",
                       "1000.00", "EUR"]  # fmt: skip
