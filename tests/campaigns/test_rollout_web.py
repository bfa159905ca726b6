"""A campaign from its targets to the reps' work, through the real server: targets by
criteria (with the live count) and a CSV list, the rollout previewed, started and
watched to its end, each rep's deals on their board and tasks in their CalDAV client."""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import func, select

from groupware.access.policy import SYSTEM, load_who
from groupware.accounts.models import User
from groupware.campaigns import rollout, targets
from groupware.campaigns.models import Rollout
from groupware.campaigns.service import CampaignIn, create_campaign
from groupware.db import Database, utcnow
from groupware.deals.models import Deal
from groupware.deals.types import save_type as save_deal_type
from groupware.jobs import run_jobs
from groupware.phases.types import StepIn, TypeIn
from tests.api.helpers import Api
from tests.caldav.test_caldav import client
from tests.campaigns.test_campaigns_web import _fair
from tests.conftest import LiveServer, LoginAs
from tests.crm.conftest import Sales
from tests.factories import make_partner

HX = {"HX-Request": "true"}


def test_a_campaign_is_rolled_out_to_the_reps_boards_and_task_lists(
    login_as: LoginAs, database: Database, sales: Sales, live: LiveServer
) -> None:
    type_id = _fair(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        for name, values in (
            ("Konzum d.d.", {"postal_code": "10000"}),
            ("Pekara Dubravica d.o.o.", {"postal_code": "10020"}),
            ("Solana Pag d.d.", {"city": "Split", "postal_code": "21000", "oib": "94577403194"}),
            ("Obrt Novak", {"city": "Osijek", "postal_code": "31000", "email": "obrt@novak.hr"}),
        ):
            make_partner(session, SYSTEM, name, **values)
        sale = TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda", planned_days=10)])
        deal_type = save_deal_type(session, SYSTEM, None, sale).id
    root, alice = login_as("root"), login_as("alice")
    made = root.post(
        "/campaigns/new",
        data={"name": "Sajam 2027", "type_id": str(type_id), "starts_on": "2026-11-02",
              "team_id": ""},
    )  # fmt: skip
    campaign_id = int(made.headers["location"].rsplit("/", 1)[1])
    base = f"/campaigns/{campaign_id}"

    criteria = {"postal_from": "10000", "postal_to": "10999"}
    counted = root.get(f"{base}/choose/count", params=criteria, headers=HX).text
    assert 'data-count="2"' in counted
    assert root.post(f"{base}/targets/freeze", data=criteria).status_code == 303
    listing = b"OIB;E-mail\n94577403194;\n;obrt@novak.hr\n"
    sent = root.post(f"{base}/targets/csv", files={"file": ("ciljevi.csv", listing, "text/csv")})
    assert sent.status_code == 303

    options = {"preview": "1", "deals": "1", "tasks": "1", "deal_type_id": str(deal_type),
               "deal_title": "Sajam 2027", "task_title": "Pozvati na sajam"}  # fmt: skip
    preview = root.get(f"{base}/rollout", params=options)
    assert preview.status_code == 200
    row = r'<tr data-rep="\d+"><td>([^<]+)</td><td class="num"[^>]*>(\d+)<'
    reps = dict(re.findall(row, preview.text))
    assert reps == {"Alice": "2", "Charlie": "1", "Root": "1"}  # no team: the owner's queue
    refused = root.post(f"{base}/rollout", data={**options, "deal_type_id": ""})
    assert refused.status_code == 422 and "Odaberite vrstu poslova" in refused.text  # hr
    started = root.post(f"{base}/rollout", data=options)
    assert started.status_code == 303
    deadline = time.monotonic() + 30
    while True:
        bar = root.get(f"{base}/rollout/progress", headers=HX).text
        if 'data-status="done"' in bar or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert 'data-status="done"' in bar and 'data-rollout="deals">4<' in bar
    assert 'data-rollout="queued">1<' in bar

    board = alice.get(f"/deals/board?campaign_id={campaign_id}").text
    assert "Konzum d.d." in board and "Pekara Dubravica" in board and "Solana" not in board
    with client(live, "alice") as dav:
        crm = next(c for c in dav.principal().calendars() if c.get_display_name() == "CRM tasks")
        summaries = sorted(str(t.icalendar_component["summary"]) for t in crm.todos())
    assert "Pozvati na sajam – Konzum d.d." in summaries
    assert "Pozvati na sajam – Pekara Dubravica d.o.o." in summaries
    assert "Ponuda: Sajam 2027" in summaries  # the deals' deadlines
    again = root.post(f"{base}/rollout", data=options)
    assert again.status_code == 422  # nothing new to roll out


def test_a_rollout_whose_process_died_is_resumed_by_the_job(
    database: Database, sales: Sales, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    type_id = _fair(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        root = load_who(session, session.get_one(User, api.cast.root.id))
        ids = [
            make_partner(session, SYSTEM, name, postal_code="10000").id
            for name in ("Konzum d.d.", "Pekara d.o.o.", "Mlin d.d.")
        ]
        sale = TypeIn(name="Prodaja", phases=[StepIn(name="Ponuda", planned_days=10)])
        deal_type = save_deal_type(session, SYSTEM, None, sale).id
        data = CampaignIn(name="Sajam", type_id=type_id, starts_on="2026-11-02")
        campaign_id = create_campaign(session, root, data).id
        targets.add_partners(session, root, campaign_id, ids)
        plan = rollout.RolloutIn(deal_type_id=deal_type, task_title="Nazvati")
        rollout_id = rollout.start(session, root, campaign_id, plan).id
    # One target rolled out, then the process dies: its beat grows old.
    monkeypatch.setattr(rollout, "BATCH", 1)
    with database.transaction(actor_id=api.cast.root.id, channel="job") as session:
        running = session.get_one(Rollout, rollout_id)
        assert rollout.run_batch(session, running)
        running.beat = utcnow() - dt.timedelta(minutes=10)
    assert run_jobs(database, only="resume-rollouts", wait=True) == {"resume-rollouts": 1}
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        done = session.get_one(Rollout, rollout_id)
        assert (done.status, done.done, done.deals_made, done.tasks_made) == ("done", 3, 3, 3)
        deals = session.scalar(
            select(func.count()).select_from(Deal).where(Deal.campaign_id == campaign_id)
        )
        assert deals == 3  # none made twice
    # Nothing is running now: the job finds nothing to resume.
    assert run_jobs(database, only="resume-rollouts", wait=True) == {"resume-rollouts": 0}
