"""A small history to read: a deal alice works on and an admin moves to a partner she
may not see, and a task charlie gives her about his own partner.

alice (staff) owns "Konzum d.d." and the deal "Blagajne"; charlie (staff, South) owns
"Studenac d.o.o.", which alice may not see; root is an administrator.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM, load_who
from groupware.db import Database, bind_actor
from groupware.deals.models import Deal
from groupware.deals.service import CloseIn, DealIn, close_deal, create_deal, move_deal, phases_of
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.tasks.service import ProgressIn, TaskIn, create_task, set_progress
from tests.api.helpers import Api
from tests.conftest import LiveServer
from tests.factories import Cast, make_partner


@dataclass
class World:
    konzum: int
    studenac: int
    deal: int
    task: int
    retail: int
    phases: tuple[str, ...]


def build_world(session: Session, cast: Cast) -> World:
    alice, charlie = load_who(session, cast.alice), load_who(session, cast.charlie)
    bind_actor(session, actor_id=None, channel="cli")
    steps = [StepIn(name="Qualify", planned_days=5), StepIn(name="Offer", planned_days=10)]
    retail = save_type(session, SYSTEM, None, TypeIn(name="Retail", direction="sale", phases=steps))
    bind_actor(session, actor_id=cast.alice.id, channel="web")
    konzum = make_partner(session, alice, "Konzum d.d.")
    data = DealIn(
        title="Blagajne",
        partner_id=konzum.id,
        type_id=retail.id,
        priority="high",
        source="fair",
        amount=decimal.Decimal("12500.50"),
        probability=40,
        started_on=dt.date(2026, 3, 2),
        expected_close=dt.date(2026, 4, 30),
    )
    deal = create_deal(session, alice, data)
    phases = phases_of(session, deal)
    move_deal(session, alice, deal.id, phases[1].id, on=dt.date(2026, 3, 9))
    close_deal(session, alice, deal.id, CloseIn(status="won", on=dt.date(2026, 4, 2)))
    bind_actor(session, actor_id=cast.charlie.id, channel="web")
    studenac = make_partner(session, charlie, "Studenac d.o.o.", postal_code="21000", city="Split")
    task = create_task(
        session,
        charlie,
        TaskIn(
            title="Inventura",
            partner_id=studenac.id,
            assignee_id=cast.alice.id,
            due_at=dt.datetime(2026, 5, 4, 7, 30, tzinfo=dt.UTC),
        ),
        push=False,
    )
    bind_actor(session, actor_id=cast.alice.id, channel="web")
    set_progress(session, alice, task.id, ProgressIn(progress=40), push=False)
    # An administrator files alice's deal under a partner she may not see.
    bind_actor(session, actor_id=cast.root.id, channel="web")
    row = session.get(Deal, deal.id)
    assert row is not None
    row.partner_id = studenac.id
    session.flush()
    bind_actor(session, actor_id=None, channel="cli")
    return World(
        konzum=konzum.id,
        studenac=studenac.id,
        deal=deal.id,
        task=task.id,
        retail=retail.id,
        phases=tuple(p.name for p in phases),
    )


@pytest.fixture
def world(db: Session, cast: Cast) -> World:
    return build_world(db, cast)


@pytest.fixture
def committed_world(committed: Cast, database: Database) -> World:
    with database.transaction(actor_id=None, channel="cli") as session:
        return build_world(session, committed)


@pytest.fixture
def api(live: LiveServer, committed: Cast, database: Database) -> Iterator[Api]:
    with Api(live.url, database, committed) as api:
        yield api
