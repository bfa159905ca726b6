"""The alert job over deals: exactly one alert per late item and level, to the right
people, in their language; escalation after the grace; harmless to run again, also
from two workers at once."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.accounts.models import User
from groupware.db import Database
from groupware.deals.service import CloseIn, close_deal, move_deal, phases_of
from groupware.jobs import run_jobs
from groupware.notifications.models import Notification
from groupware.phases.alerts import Delivery, raise_alerts
from groupware.phases.models import Alert
from groupware.wiring import Area
from tests.deals.conftest import START, Setup, make_setup, new_deal
from tests.factories import make_cast, reset_database


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def inbox(db: Session, user: User) -> list[tuple[str, str]]:
    rows = db.execute(
        select(Notification.kind, Notification.title)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id)
    )
    return [(kind, title) for kind, title in rows]


def test_a_late_phase_raises_one_alert_to_the_rep_and_the_team_lead(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    cast.dave.language = "hr"
    deal = new_deal(db, setup, title="Blagajne")
    qualify_due = START + days(5)
    assert raise_alerts(db, qualify_due, grace_days=3) == 0  # due today: not late yet
    assert raise_alerts(db, qualify_due + days(1), grace_days=3) == 1
    assert raise_alerts(db, qualify_due + days(2), grace_days=3) == 0  # already raised
    assert inbox(db, cast.alice) == [("alert", "Phase Qualify of deal Blagajne is late")]
    assert inbox(db, cast.dave) == [("alert", "Faza Qualify posla Blagajne kasni")]
    assert inbox(db, cast.bob) == []  # same team, not the lead nor responsible
    # still late after the grace: one escalation
    assert raise_alerts(db, qualify_due + days(3), grace_days=3) == 0
    assert raise_alerts(db, qualify_due + days(4), grace_days=3) == 1
    assert raise_alerts(db, qualify_due + days(9), grace_days=3) == 0
    assert inbox(db, cast.alice)[-1] == (
        "escalation",
        "Escalation: Phase Qualify of deal Blagajne is late",
    )
    # the next phase, late in its turn, is a new alert
    offer = phases_of(db, deal)[1]
    move_deal(db, cast.who(db, cast.alice), deal.id, offer.id, qualify_due + days(9))
    assert raise_alerts(db, offer.planned_end + days(1), grace_days=30) == 1
    subjects = db.scalars(select(Alert.subject).where(Alert.record_id == deal.id))
    assert sorted(subjects) == sorted(
        [f"phase:{phases_of(db, deal)[0].id}"] * 2 + [f"phase:{offer.id}"]
    )


def test_an_overdue_close_date_alerts_and_closed_deals_do_not(db: Session, setup: Setup) -> None:
    cast = setup.cast
    late = new_deal(db, setup, title="Kasni", expected_close=START + days(2))
    won = new_deal(db, setup, title="Dobiven", expected_close=START + days(2))
    close_deal(db, cast.who(db, cast.alice), won.id, CloseIn(status="won", on=START + days(1)))
    assert raise_alerts(db, START + days(3), grace_days=10) == 1
    assert inbox(db, cast.alice) == [("alert", "Deal Kasni is past its expected close date")]
    assert db.scalar(select(Alert.record_id)) == late.id


def test_an_escalation_without_a_team_lead_goes_to_the_administrators(
    db: Session, setup: Setup
) -> None:
    cast = setup.cast
    new_deal(db, setup, cast.charlie, partner_id=setup.split_partner.id, title="Split")
    # charlie's team South has no lead
    assert raise_alerts(db, START + days(6), grace_days=0) == 2
    assert inbox(db, cast.root) == [  # root reads Croatian
        ("escalation", "Eskalacija: Faza Qualify posla Split kasni")
    ]
    assert [k for k, _t in inbox(db, cast.charlie)] == ["alert", "escalation"]


def test_channels_get_each_delivery_for_e_mail(db: Session, setup: Setup) -> None:
    got: list[Delivery] = []
    extra = Area("test", alert_channels=(lambda session, deliveries: got.extend(deliveries),))
    with wiring.extended(extra):
        new_deal(db, setup, title="Pošta")
        raise_alerts(db, START + days(6), grace_days=3)
    assert sorted(d.user.username for d in got) == ["alice", "dave"]
    assert all(d.link.startswith("/deals/") for d in got)


@pytest.fixture
def committed_setup(database: Database) -> Iterator[None]:
    yield
    reset_database(database)


def test_two_workers_at_once_raise_each_alert_once(
    database: Database, committed_setup: None
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        setup = make_setup(session, make_cast(session))
        for i in range(20):
            new_deal(session, setup, title=f"Posao {i}")
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def worker() -> None:
        # On PostgreSQL both run at once and race on the unique key; SQLite lets one
        # writer in at a time, so there the second waits and then finds nothing new.
        barrier.wait(timeout=10)
        with database.transaction(actor_id=None, channel="job") as session:
            counts.append(raise_alerts(session, START + days(6), grace_days=3))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(counts) == [0, 20]
    with database.transaction(actor_id=None, channel="cli") as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 20
        assert session.scalar(select(func.count()).select_from(Notification)) == 40
    # the scheduler's job does the same, and again nothing twice
    assert run_jobs(database, only="raise-alerts")["raise-alerts"] is not None
    with database.transaction(actor_id=None, channel="cli") as session:
        assert session.scalar(select(func.count()).select_from(Notification)) >= 40
