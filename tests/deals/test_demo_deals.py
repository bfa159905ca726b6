"""The demo company's pipelines: deals at every stage, consistent with the engine."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from groupware.access.policy import SYSTEM
from groupware.activities.models import Activity
from groupware.campaigns.models import CampaignTarget
from groupware.deals import reports
from groupware.deals.demo import DEALS, TYPES
from groupware.deals.models import Deal
from groupware.i18n import today
from groupware.phases import engine
from groupware.phases.alerts import raise_alerts
from groupware.phases.models import Alert, Phase, ProcessType
from tests.conftest import Demo


def test_the_demo_has_sales_and_purchases_at_every_stage(demo_company: Demo) -> None:
    assert demo_company.loaded is True
    with demo_company.reading() as session:
        deal_types = select(func.count()).where(ProcessType.process == "deal")
        assert session.scalar(deal_types) == len(TYPES)
        # The deals of the deals demo (the campaigns demo rolls out deals of its own).
        rolled_out = select(CampaignTarget.deal_id).where(CampaignTarget.deal_id.is_not(None))
        deals = list(session.scalars(select(Deal).where(Deal.id.not_in(rolled_out))))
        assert len(deals) == DEALS
        assert Counter(d.direction for d in deals).keys() == {"sale", "purchase"}
        statuses = Counter(d.status for d in deals)
        assert all(statuses[s] > 0 for s in ("open", "won", "lost", "cancelled")), statuses
        assert all(d.lost_reason for d in deals if d.status == "lost")
        assert all(d.owner_id is not None for d in deals)
        for deal in deals[:50]:
            phases = list(
                session.scalars(
                    select(Phase)
                    .where(Phase.record_type == "deals", Phase.record_id == deal.id)
                    .order_by(Phase.position)
                )
            )
            assert phases and phases[0].planned_start == deal.started_on
            current = engine.current(phases)
            assert (current.id if current else None) == (
                deal.phase_id if deal.status == "open" else None
            )
        logged = select(func.count()).select_from(Activity).where(Activity.record_type == "deals")
        assert session.scalar(logged) > 0
        start, end = today().replace(month=1, day=1), today().replace(month=12, day=31)
        assert reports.pipeline(session, SYSTEM)
        assert reports.forecast(session, SYSTEM, start, end)
        # Some are late: the demo raised their alerts, and the job finds none left.
        assert session.scalar(select(func.count()).select_from(Alert)) > 0
        assert raise_alerts(session, today(), grace_days=3) == 0
