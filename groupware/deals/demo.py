"""Demo pipelines: deal types for sales and purchases and a few hundred deals of the
demo partners, at every stage (some late, some won with their invoice, some lost),
written through the deal services so phases, history and alerts are as in real use.
Seeded, so every install gets the same deals (dated relative to today)."""

from __future__ import annotations

import datetime as dt
import decimal
import random
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM, Who, load_who
from groupware.accounts.models import User
from groupware.activities import service as activities
from groupware.crm.models import Document, Partner
from groupware.db import bind_actor
from groupware.deals import calendar, service
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.phases.models import ProcessType

SEED = 4242
DEALS = 240
TYPES = [
    # name, direction, phases (name, planned days)
    (
        "Prodaja trgovcima",
        "sale",
        [("Kvalifikacija", 7), ("Ponuda", 10), ("Pregovori", 14), ("Ugovor", 7)],
    ),
    ("Projekt opremanja", "sale", [("Analiza", 14), ("Ponuda", 14), ("Pilot", 30), ("Ugovor", 10)]),
    ("Nabava robe", "purchase", [("Upit", 3), ("Usporedba ponuda", 7), ("Narudžba", 5)]),
]
TITLES = {
    "sale": ["Blagajne", "POS terminali", "Vage i etiketiranje", "Rashladne vitrine", "Servis"],
    "purchase": ["Papirne role", "Rezervni dijelovi", "Skeneri", "Ambalaža"],
}
LOST_REASONS = ["Cijena", "Odabrali konkurenciju", "Projekt odgođen", "Bez budžeta"]
NOTES = [
    ("call", "Nazvao nabavu, traže ponudu do petka."),
    ("note", "Sastanak u poslovnici, pokazali demo."),
    ("note", "Kupac traži popust za veću količinu."),
    ("call", "Dogovoren novi termin za prezentaciju."),
]


def load_deals_demo(session: Session, users: Mapping[str, User], today: dt.date) -> int:
    """Write the demo deal types and deals (the caller's transaction); returns how many."""
    rng = random.Random(SEED)  # noqa: S311 - demo data, the same on every install
    types = [
        save_type(
            session,
            SYSTEM,
            None,
            TypeIn.model_validate(
                {
                    "name": name,
                    "direction": direction,
                    "phases": [StepIn(name=n, planned_days=d) for n, d in steps],
                }
            ),
        )
        for name, direction, steps in TYPES
    ]
    partners = list(
        session.execute(
            select(Partner.id, Partner.owner_id)
            .where(Partner.owner_id.is_not(None))
            .order_by(Partner.id)
        )
    )
    people = {u.id: u for u in users.values()}
    made = 0
    for partner_id, owner_id in rng.sample(partners, min(DEALS, len(partners))):
        owner = people.get(owner_id or 0)
        if owner is None:
            continue
        who = load_who(session, owner)
        bind_actor(session, actor_id=owner.id, channel="cli")
        with calendar.pushed_once(session):
            _deal(session, rng, who, partner_id, rng.choice(types), today)
        made += 1
    bind_actor(session, actor_id=None, channel="cli")
    return made


def _deal(
    session: Session,
    rng: random.Random,
    who: Who,
    partner_id: int,
    type_: ProcessType,
    today: dt.date,
) -> None:
    direction = type_.direction or "sale"
    started = today - dt.timedelta(days=rng.randint(0, 240))
    planned = sum(p.planned_days for p in type_.phases)
    # Most deals that have had their time are decided; the few left open are the late
    # ones a pipeline really has. A rep keeps an open deal's expected close ahead of
    # today, mostly: a board of red cards would tell nobody anything.
    decided = (today - started).days > planned and rng.random() < 0.95
    expected_close = started + dt.timedelta(days=max(0, planned + rng.randint(-10, 30)))
    if not decided and expected_close < today and rng.random() < 0.8:
        expected_close = today + dt.timedelta(days=rng.randint(3, 45))
    data = {
        "direction": direction,
        "title": f"{rng.choice(TITLES[direction])} {started.year}/{rng.randint(10, 99)}",
        "partner_id": partner_id,
        "type_id": type_.id,
        "priority": rng.choice(["low", "normal", "normal", "high", "urgent"]),
        "source": rng.choice(["website", "referral", "phone", "fair", "existing"]),
        "amount": decimal.Decimal(rng.randrange(500, 60_000, 50)),
        "probability": rng.choice([10, 20, 30, 50, 70, 90]),
        "started_on": started,
        "expected_close": expected_close,
    }
    deal = service.create_deal(session, who, service.DealIn.model_validate(data))
    phases = service.phases_of(session, deal)
    day = started
    for phase in phases[1:]:  # move on while the phase's time (give or take) has passed
        day = day + dt.timedelta(days=max(1, phase.planned_days + rng.randint(-3, 4)))
        if day > today or rng.random() < 0.05:
            break
        service.move_deal(session, who, deal.id, phase.id, day)
    for kind, text in rng.sample(NOTES, rng.randint(0, 2)):
        when = dt.datetime.combine(
            min(today, started + dt.timedelta(days=rng.randint(0, 60))),
            dt.time(rng.randint(8, 16), rng.choice([0, 15, 30, 45])),
            tzinfo=dt.UTC,
        )
        logged = activities.ActivityIn(
            kind=kind,
            body=text,
            duration_minutes=rng.choice([5, 10, 20]) if kind == "call" else 0,
            occurred_at=min(when, dt.datetime.now(dt.UTC)),
        )
        activities.add_activity(session, who, "deals", deal.id, logged)
    if decided:
        closed = min(today, day + dt.timedelta(days=rng.randint(1, 20)))
        status = rng.choices(["won", "lost", "cancelled"], weights=[6, 3, 1])[0]
        reason = rng.choice(LOST_REASONS) if status == "lost" else ""
        closing = service.CloseIn.model_validate({"status": status, "reason": reason, "on": closed})
        service.close_deal(session, who, deal.id, closing)
        if status == "won":
            _link_invoice(session, deal.id, partner_id, started)


def _link_invoice(session: Session, deal_id: int, partner_id: int, since: dt.date) -> None:
    invoice = session.scalar(
        select(Document)
        .where(
            Document.partner_id == partner_id,
            Document.kind == "invoice",
            Document.deal_id.is_(None),
            Document.date >= since,
        )
        .order_by(Document.date)
        .limit(1)
    )
    if invoice is not None:
        invoice.deal_id = deal_id
