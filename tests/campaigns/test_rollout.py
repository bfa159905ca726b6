"""A campaign's rollout as a service: the preview per rep, one deal (with its phases,
deadline to-do and history) and one task (with its to-do in the rep's CalDAV task
list) per target, targets without a rep in the team's queue, open deals linked rather
than made twice, a second run adding only what is new, refusals that name the field,
one history row and one notice per rep at the end."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.caldav.models import Calendar, CalendarItem
from groupware.campaigns import rollout, targets
from groupware.campaigns.models import CampaignTarget, Rollout
from groupware.campaigns.service import CampaignIn, create_campaign, get_campaign_for_user
from groupware.crm.models import Partner
from groupware.deals.models import Deal
from groupware.errors import Invalid
from groupware.history.service import record_changes
from groupware.notifications.models import Notification
from groupware.phases.models import Phase
from groupware.tasks.models import Task
from groupware.validation import validate
from tests.campaigns.test_campaigns import fair
from tests.deals.conftest import Setup, make_setup, new_deal
from tests.factories import Cast, make_partner


@pytest.fixture
def setup(db: Session, cast: Cast) -> Setup:
    return make_setup(db, cast)


def _campaign(db: Session, setup: Setup) -> int:
    root = setup.cast.who(db, setup.cast.root)
    data = CampaignIn(
        name="Sajam", type_id=fair(db).id, starts_on=dt.date(2026, 12, 1),
        team_id=setup.cast.south.id,
    )  # fmt: skip
    campaign = create_campaign(db, root, data)
    unassigned = make_partner(db, root, "Obrt Novak", city="Osijek", postal_code="31000")
    assert unassigned.owner_id is None  # no territory covers Osijek
    pekara = make_partner(db, root, "Pekara Dubravica d.o.o.", postal_code="10020")
    ids = [setup.zagreb_partner.id, setup.split_partner.id, unassigned.id, pekara.id]
    targets.add_partners(db, root, campaign.id, ids)
    return campaign.id


def _data(setup: Setup, **values: object) -> rollout.RolloutIn:
    return validate(
        rollout.RolloutIn,
        {"deal_type_id": str(setup.sale.id), "task_title": "Nazvati", "task_due": "2026-12-20",
         **values},
    )  # fmt: skip


def test_the_preview_says_what_each_rep_gets_and_what_goes_to_the_queue(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    root = cast.who(db, cast.root)
    campaign_id = _campaign(db, setup)
    # Konzum has an open deal in the campaign already: it is linked, not made again.
    new_deal(db, setup, cast.root, partner_id=setup.zagreb_partner.id, campaign_id=campaign_id)
    seen = rollout.preview(db, root, campaign_id, _data(setup))
    by_name = {r.name: (r.deals, r.tasks) for r in seen.reps}
    assert by_name == {"Alice": (1, 2), "Charlie": (1, 1), "tim South": (1, 1)}  # hr
    assert (seen.pending, seen.linked, seen.queued, seen.done) == (4, 1, 1, 0)
    assert seen.linked_names == ("Konzum d.d.",) and seen.queued_names == ("Obrt Novak",)
    # Alice (the campaign shared with her) sees her territory's partners only: the
    # others are left out of a rollout she starts.
    campaign = get_campaign_for_user(db, root, campaign_id)
    shares.share(db, campaign, by_user_id=cast.root.id, user_id=cast.alice.id, permission="write")
    alices = rollout.preview(db, cast.who(db, cast.alice), campaign_id, _data(setup))
    assert (alices.targets, alices.hidden, alices.pending) == (2, 2, 2)


def test_a_rollout_makes_one_deal_and_one_task_per_target_once(db: Session, setup: Setup) -> None:
    cast = setup.cast
    root = cast.who(db, cast.root)
    campaign_id = _campaign(db, setup)
    started = rollout.start(db, root, campaign_id, _data(setup))
    assert started.total == 4 and started.status == "running"
    with pytest.raises(Invalid) as twice:
        rollout.start(db, root, campaign_id, _data(setup))
    assert "rollout" in twice.value.errors
    rollout.run_all(db, started)
    assert (started.status, started.deals_made, started.tasks_made, started.queued) == (
        "done", 4, 4, 1,
    )  # fmt: skip

    deals = list(db.scalars(select(Deal).where(Deal.campaign_id == campaign_id)))
    assert len(deals) == 4 and {d.source for d in deals} == {"campaign"}
    by_partner = {d.partner_id: d for d in deals}
    konzum = by_partner[setup.zagreb_partner.id]
    assert konzum.owner_id == setup.zagreb_partner.owner_id == cast.alice.id
    phases = list(db.scalars(select(Phase).where(Phase.record_type == "deals",
                                                 Phase.record_id == konzum.id)
                             .order_by(Phase.position)))  # fmt: skip
    assert [p.name for p in phases] == ["Qualify", "Offer", "Negotiate"]
    assert konzum.phase_id == phases[0].id and konzum.phase_due == phases[0].planned_end
    assert konzum.step_id == phases[0].type_phase_id and phases[0].actual_start is not None
    (created,) = record_changes(db, "deals", konzum.id)
    assert created.action == "create" and created.label == "Sajam"
    assert created.changes["partner_id"] == [None, setup.zagreb_partner.id]
    assert created.changes["title"] == [None, "Sajam"] and "phase_due" not in created.changes

    tasks = {t.partner_id: t for t in db.scalars(select(Task).where(Task.deal_id.in_(
        [d.id for d in deals])))}  # fmt: skip
    assert len(tasks) == 4
    assert tasks[setup.zagreb_partner.id].owner_id == cast.alice.id
    queued = next(t for t in tasks.values() if t.owner_id is None)
    assert queued.team_id == cast.south.id and queued.title == "Nazvati – Obrt Novak"
    assert queued.due_at == dt.datetime(2026, 12, 20, 17, tzinfo=dt.UTC)
    (made,) = record_changes(db, "tasks", queued.id)
    assert made.changes["title"] == [None, "Nazvati – Obrt Novak"]
    assert made.changes["team_id"] == [None, cast.south.id] and made.changes["owner_id"] == [
        None,
        None,
    ]

    # The rep's CalDAV task list holds the task and the deal's deadline.
    items = set(db.scalars(
        select(CalendarItem.uid).join(Calendar, Calendar.id == CalendarItem.calendar_id)
        .where(Calendar.owner_id == cast.alice.id, Calendar.kind == "tasks")
    ))  # fmt: skip
    assert {f"task-{tasks[setup.zagreb_partner.id].id}@groupware",
            f"deal-{konzum.id}@groupware"} <= items  # fmt: skip

    listed = {t.partner_id: t for t in db.scalars(
        select(CampaignTarget).where(CampaignTarget.campaign_id == campaign_id))}  # fmt: skip
    assert {t.deal_id for t in listed.values()} == {d.id for d in deals}
    changes = [c.changes for c in record_changes(db, "campaigns", campaign_id)]
    assert [c for c in changes if "rollout_deals" in c] == [
        {"rollout_deals": [None, 4], "rollout_tasks": [None, 4], "rollout_linked": [None, 0],
         "rollout_queued": [None, 1]}
    ]  # fmt: skip
    notices = db.scalars(
        select(Notification.user_id).where(Notification.record_type == "campaigns")
    )
    assert sorted(notices) == sorted([cast.alice.id, cast.charlie.id])

    # Again: nothing new, refused; one new target: only its deal and task.
    with pytest.raises(Invalid) as nothing:
        rollout.start(db, root, campaign_id, _data(setup))
    assert "rollout" in nothing.value.errors
    late = make_partner(db, root, "Kraš d.d.", postal_code="10000")
    targets.add_partners(db, root, campaign_id, [late.id])
    again = rollout.start(db, root, campaign_id, _data(setup))
    rollout.run_all(db, again)
    assert (again.total, again.deals_made, again.tasks_made) == (1, 1, 1)
    count = select(func.count()).select_from(Deal).where(Deal.campaign_id == campaign_id)
    assert db.scalar(count) == 5


def test_the_database_refuses_two_running_rollouts_and_a_deal_on_two_targets(
    db: Session, setup: Setup
) -> None:
    root = setup.cast.who(db, setup.cast.root)
    campaign_id = _campaign(db, setup)
    rollout.start(db, root, campaign_id, _data(setup))
    with pytest.raises(IntegrityError), db.begin_nested():
        db.add(Rollout(campaign_id=campaign_id, per_rep={}))
        db.flush()
    deal = new_deal(db, setup, setup.cast.root, partner_id=setup.zagreb_partner.id)
    rows = list(db.scalars(select(CampaignTarget).where(CampaignTarget.campaign_id == campaign_id)))
    with pytest.raises(IntegrityError), db.begin_nested():
        rows[0].deal_id = rows[1].deal_id = deal.id
        db.flush()


def test_bad_rollouts_are_refused_naming_the_field(db: Session, setup: Setup) -> None:
    root = setup.cast.who(db, setup.cast.root)
    campaign_id = _campaign(db, setup)
    for values, field in (
        ({"deal_type_id": ""}, "deal_type_id"),
        ({"deal_type_id": str(setup.purchase.id + 100)}, "deal_type_id"),
        ({"deals": False, "tasks": False}, "deals"),
    ):
        with pytest.raises(Invalid) as refused:
            rollout.start(db, root, campaign_id, _data(setup, **values))
        assert field in refused.value.errors, values
    # Tasks alone need no deal type.
    alone = rollout.start(db, root, campaign_id, _data(setup, deals=False, deal_type_id=""))
    rollout.run_all(db, alone)
    assert (alone.deals_made, alone.tasks_made) == (0, 4)
    assert db.scalar(select(func.count()).select_from(Partner)) >= 4
