"""Campaigns as a service: planned from their type's phases, moved, ended; access by
owner, team and share; refusals that name the field."""

from __future__ import annotations

import datetime as dt
import decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.access.policy import SYSTEM, load_who
from groupware.caldav import store
from groupware.campaigns.service import (
    CampaignIn,
    EndIn,
    create_campaign,
    end_campaign,
    get_campaign_for_user,
    move_campaign,
    phases_of,
    update_campaign,
)
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.deals.types import save_type as save_deal_type
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.history.service import record_changes
from groupware.mail import delivery, routing
from groupware.mail.mailbox import filed_on, record_choices
from groupware.mail.models import MailLink
from groupware.notifications.models import Notification
from groupware.phases import engine
from groupware.phases import types as phase_types
from groupware.phases.alerts import raise_alerts
from groupware.phases.models import Alert, ProcessType
from groupware.phases.types import StepIn, TypeIn
from groupware.settings import Settings
from groupware.validation import validate
from tests.factories import MAIL_DOMAIN, Cast
from tests.mail.conftest import message

START = dt.date(2026, 3, 2)


def fair(db: Session) -> ProcessType:
    phases = [StepIn(name="Prepare", planned_days=14), StepIn(name="Fair", planned_days=3),
              StepIn(name="Follow up", planned_days=10)]  # fmt: skip
    return phase_types.save_type(
        db, SYSTEM, CAMPAIGN_TYPES, None, TypeIn(name="Fair", phases=phases)
    )


def data(type_id: int, **values: object) -> CampaignIn:
    return validate(
        CampaignIn,
        {"name": "Spring fair", "type_id": type_id, "starts_on": START.isoformat(), **values},
    )


def test_a_campaign_is_planned_from_its_type_moved_and_finished(db: Session, cast: Cast) -> None:
    alice = load_who(db, cast.alice)
    campaign = create_campaign(
        db,
        alice,
        data(fair(db).id, budget="12.500,50", expected_revenue="40000", team_id=cast.north.id),
    )
    assert campaign.owner_id == cast.alice.id and campaign.status == "planned"
    assert campaign.budget == decimal.Decimal("12500.50")
    phases = phases_of(db, campaign)
    assert [(p.name, p.planned_start, p.planned_end) for p in phases] == [
        ("Prepare", START, START + dt.timedelta(days=14)),
        ("Fair", START + dt.timedelta(days=14), START + dt.timedelta(days=17)),
        ("Follow up", START + dt.timedelta(days=17), START + dt.timedelta(days=27)),
    ]
    assert campaign.phase_id == phases[0].id and campaign.phase_due == phases[0].planned_end

    moved = move_campaign(db, alice, campaign.id, phases[2].id, on=START + dt.timedelta(days=20))
    assert moved.status == "active" and moved.phase_id == phases[2].id
    states = [s.state for s in engine.timeline(phases_of(db, moved), START + dt.timedelta(days=20))]
    assert states == ["done", "skipped", "current"]

    ended = end_campaign(
        db, alice, campaign.id, EndIn(status="finished", on=START + dt.timedelta(days=30))
    )
    assert ended.status == "finished" and ended.phase_due is None
    assert ended.ends_on == START + dt.timedelta(days=30)
    with pytest.raises(Invalid) as late:
        move_campaign(db, alice, campaign.id, phases[0].id)
    assert "phase_id" in late.value.errors
    changed = {c.action for c in record_changes(db, "campaigns", campaign.id)}
    assert changed == {"create", "update"}


def test_a_new_type_or_start_plans_the_phases_again(db: Session, cast: Cast) -> None:
    alice = load_who(db, cast.alice)
    campaign = create_campaign(db, alice, data(fair(db).id))
    mail = phase_types.save_type(
        db, SYSTEM, CAMPAIGN_TYPES, None,
        TypeIn(name="Mailing", phases=[StepIn(name="Write", planned_days=5)]),
    )  # fmt: skip
    later = START + dt.timedelta(days=7)
    update_campaign(db, alice, campaign.id, data(mail.id, starts_on=later.isoformat()))
    assert [(p.name, p.planned_start) for p in phases_of(db, campaign)] == [("Write", later)]


def test_bad_input_is_refused_naming_the_field(db: Session, cast: Cast) -> None:
    alice = load_who(db, cast.alice)
    type_id = fair(db).id
    with pytest.raises(Invalid) as dates:
        data(type_id, ends_on="2026-03-01")
    assert "ends_on" in dates.value.errors
    deal_type = save_deal_type(db, SYSTEM, None, TypeIn(name="Sale", phases=[StepIn(name="Offer")]))
    with pytest.raises(Invalid) as wrong_kind:
        create_campaign(db, alice, data(deal_type.id))
    assert {k: str(v) for k, v in wrong_kind.value.errors.items()} == {
        "type_id": "Ne postoji takva vrsta kampanje."  # the default language: Croatian
    }
    with pytest.raises(Invalid) as team:
        create_campaign(db, alice, data(type_id, team_id=999_999))
    assert "team_id" in team.value.errors


def test_owner_team_and_shares_decide_who_sees_and_edits(db: Session, cast: Cast) -> None:
    who = {
        name: load_who(db, getattr(cast, name))
        for name in ("alice", "bob", "charlie", "dave", "root")
    }
    campaign = create_campaign(db, who["alice"], data(fair(db).id))
    assert get_campaign_for_user(db, who["root"], campaign.id).id == campaign.id
    for name in ("bob", "charlie"):  # staff see their own only
        with pytest.raises(NotFound):
            get_campaign_for_user(db, who[name], campaign.id)
    # dave leads North, alice's team: a manager sees and edits their team's campaigns
    assert get_campaign_for_user(db, who["dave"], campaign.id, "edit").id == campaign.id
    shares.share(db, campaign, by_user_id=cast.alice.id, user_id=cast.charlie.id)
    assert get_campaign_for_user(db, who["charlie"], campaign.id).id == campaign.id
    with pytest.raises(Forbidden):
        move_campaign(db, who["charlie"], campaign.id, phases_of(db, campaign)[1].id)


def test_a_late_phase_raises_one_alert_and_one_escalation_for_the_owner(
    db: Session, cast: Cast
) -> None:
    cast.dave.language = "hr"  # lead of North, alice's team: told in Croatian
    alice = load_who(db, cast.alice)
    campaign = create_campaign(db, alice, data(fair(db).id, name="Sajam"))
    due = START + dt.timedelta(days=14)  # the end of "Prepare"
    assert raise_alerts(db, due, grace_days=3) == 0  # due today: not late yet
    assert raise_alerts(db, due + dt.timedelta(days=1), grace_days=3) == 1
    assert raise_alerts(db, due + dt.timedelta(days=2), grace_days=3) == 0  # raised already
    titles = db.scalars(
        select(Notification.title).where(Notification.user_id.in_((cast.alice.id, cast.dave.id)))
    )
    assert sorted(titles) == [
        "Faza Prepare kampanje Sajam kasni",
        "Phase Prepare of campaign Sajam is late",
    ]
    assert raise_alerts(db, due + dt.timedelta(days=4), grace_days=3) == 1  # the escalation
    # An ended campaign is late no more.
    end_campaign(db, alice, campaign.id, EndIn(status="cancelled", on=due + dt.timedelta(days=5)))
    assert raise_alerts(db, due + dt.timedelta(days=60), grace_days=3) == 0
    subjects = db.scalars(select(Alert.subject).where(Alert.record_type == "campaigns"))
    assert sorted(subjects) == [f"phase:{phases_of(db, campaign)[0].id}"] * 2


def test_mail_to_a_campaign_s_address_or_with_its_tag_is_filed_on_it_and_offered_by_hand(
    db: Session, cast: Cast, settings: Settings
) -> None:
    alice = load_who(db, cast.alice)
    campaign = create_campaign(db, alice, data(fair(db).id, name="Sajam Split"))
    found = routing.route(
        db, f"campaign-{campaign.id}@{settings.mail_domain}", settings, logged_in=False
    )
    assert found.target == ("campaigns", campaign.id)
    mail = message("ivan@konzum.example", cast.alice.email, f"[C-{campaign.id}] Štand")
    stored = delivery.store(
        db,
        bytes(mail),
        envelope_from="ivan@konzum.example",
        envelope_to=[cast.alice.email],
        recipients=[cast.alice],
        sender=None,
        mail_domain=MAIL_DOMAIN,
    )
    links = db.execute(
        select(MailLink.record_type, MailLink.record_id).where(MailLink.message_id == stored)
    )
    assert ("campaigns", campaign.id) in set(links)
    assert [f.label for f in filed_on(db, alice, stored) if f.record_type == "campaigns"] == [
        "Sajam Split"
    ]
    offered = record_choices(db, alice, "split")
    assert ("campaigns", campaign.id, "Sajam Split") in {
        (c.record_type, c.record_id, c.label) for c in offered
    }
    charlie = load_who(db, cast.charlie)
    assert not [c for c in record_choices(db, charlie, "split") if c.record_type == "campaigns"]


def test_the_phase_deadline_is_a_to_do_in_the_owner_s_task_list_and_follows_the_campaign(
    db: Session, cast: Cast
) -> None:
    def todo(campaign_id: int) -> tuple[int, str] | None:
        rows = store.item_by_source(db, f"campaign:{campaign_id}")
        assert len(rows) <= 1
        return (rows[0].calendar.owner_id, rows[0].ics or "") if rows else None

    alice = load_who(db, cast.alice)
    campaign = create_campaign(db, alice, data(fair(db).id, name="Sajam"))
    owner, ics = todo(campaign.id) or (0, "")
    assert owner == cast.alice.id and "SUMMARY:Prepare: Sajam" in ics
    assert f"DUE;VALUE=DATE:{campaign.phase_due:%Y%m%d}" in ics
    fair_phase = phases_of(db, campaign)[1]
    move_campaign(db, alice, campaign.id, fair_phase.id, on=START + dt.timedelta(days=3))
    assert "SUMMARY:Fair: Sajam" in (todo(campaign.id) or (0, ""))[1]
    given = data(campaign.type_id, name="Sajam", owner_id=cast.bob.id, status="active")
    update_campaign(db, alice, campaign.id, given)
    assert (todo(campaign.id) or (0, ""))[0] == cast.bob.id  # a new owner: their list only
    bob = load_who(db, cast.bob)  # alice handed it on: it is bob's to end
    end_campaign(db, bob, campaign.id, EndIn(status="finished", on=START + dt.timedelta(days=9)))
    assert todo(campaign.id) is None


def test_a_campaign_under_way_keeps_its_phases_when_its_start_is_corrected(
    db: Session, cast: Cast
) -> None:
    alice = load_who(db, cast.alice)
    campaign = create_campaign(db, alice, data(fair(db).id))
    second = phases_of(db, campaign)[1]
    move_campaign(db, alice, campaign.id, second.id, on=START + dt.timedelta(days=10))
    earlier = (START - dt.timedelta(days=3)).isoformat()
    update_campaign(
        db, alice, campaign.id, data(campaign.type_id, starts_on=earlier, status="active")
    )
    phases = phases_of(db, campaign)
    assert [p.id for p in phases][1] == second.id and campaign.phase_id == second.id
    assert phases[0].actual_end == START + dt.timedelta(days=10)
