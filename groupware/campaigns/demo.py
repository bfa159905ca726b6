"""The demo company's campaign types (a trade fair, a newsletter and a phone round,
each with the phases its campaigns go through) and campaigns at different points:
one under way and late in a phase, one planned, one finished (in Croatian, as the
company works). Their target lists are frozen from criteria; the fair and the phone
round are rolled out into deals and tasks for the reps, and the phone round's targets
have answered (some deals won, some lost)."""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM, Who, load_who
from groupware.accounts.models import Team, User
from groupware.campaigns import criteria, rollout, targets
from groupware.campaigns.models import CampaignTarget
from groupware.campaigns.service import (
    CampaignIn,
    EndIn,
    create_campaign,
    end_campaign,
    move_campaign,
    phases_of,
)
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.crm.models import PartnerGroup, Territory
from groupware.deals.models import Deal
from groupware.deals.service import CloseIn, close_deal
from groupware.phases.models import ProcessType
from groupware.phases.types import StepIn, TypeIn, save_type

TYPES = [
    ("Sajam", [("Priprema štanda", 21), ("Sajam", 4), ("Praćenje kontakata", 14)]),
    ("Newsletter", [("Sadržaj", 7), ("Slanje", 2), ("Odgovori", 14)]),
    ("Telefonska kampanja", [("Popis za pozive", 5), ("Pozivi", 15), ("Ponude", 10)]),
]


# name, type, owner, team, start (days from today), phase reached, ended, budget, goals
CAMPAIGNS = [
    ("Proljetni sajam Zagreb", 0, "marko", "Prodaja Zagreb", -30, 1, False, "8500", 40, "60000"),
    ("Jesenski newsletter", 1, "ivana", "Prodaja Zagreb", 10, 0, False, "600", 120, "15000"),
    (
        "Pozivi kupcima u Dalmaciji",
        2,
        "petra",
        "Prodaja Dalmacija",
        -90,
        2,
        True,
        "1200",
        80,
        "25000",
    ),
]


def load_campaigns_demo(
    session: Session, users: Mapping[str, User], teams: Mapping[str, Team], today: dt.date
) -> list[ProcessType]:
    """Write the demo campaign types and campaigns (the caller's transaction)."""
    types = _types(session)
    for name, kind, owner, team, start, reached, ended, budget, responses, revenue in CAMPAIGNS:
        starts = today + dt.timedelta(days=start)
        campaign = create_campaign(
            session,
            SYSTEM,
            CampaignIn(
                name=name,
                type_id=types[kind].id,
                owner_id=users[owner].id,
                team_id=teams[team].id,
                starts_on=starts,
                budget=decimal.Decimal(budget),
                expected_responses=responses,
                expected_revenue=decimal.Decimal(revenue),
            ),
        )
        if kind == 0:  # the fair's: the open deals of its team that came from fairs
            _from_the_fair(session, campaign.id, [m.user_id for m in teams[team].members])
        _targets(session, load_who(session, users[owner]), campaign.id, TARGETS[kind])
        if kind != 1:  # the newsletter is only planned
            _roll_out(session, load_who(session, users[owner]), campaign.id, kind)
        if kind == 2:
            _answers(session, campaign.id)
        phases = phases_of(session, campaign)
        if reached:  # under way: moved on a while after its start, and late there
            on = min(today, starts + dt.timedelta(days=phases[reached].planned_days // 2 + 14))
            move_campaign(session, SYSTEM, campaign.id, phases[reached].id, on=on)
        if ended:
            end_campaign(
                session,
                SYSTEM,
                campaign.id,
                EndIn(status="finished", on=today - dt.timedelta(days=5)),
            )
    return types


def _types(session: Session) -> list[ProcessType]:
    return [
        save_type(
            session,
            SYSTEM,
            CAMPAIGN_TYPES,
            None,
            TypeIn(name=name, phases=[StepIn(name=n, planned_days=d) for n, d in steps]),
        )
        for name, steps in TYPES
    ]


def _from_the_fair(session: Session, campaign_id: int, owner_ids: list[int]) -> None:
    """The open deals of ``owner_ids`` whose source is a fair live in the campaign."""
    session.execute(
        update(Deal)
        .where(Deal.owner_id.in_(owner_ids), Deal.source == "fair", Deal.status == "open")
        .values(campaign_id=campaign_id)
    )


# What each campaign's targets are chosen by (its type's position in TYPES).
TARGETS: list[dict[str, str]] = [
    {"territory": "Zagreb", "group": "HoReCa", "status": "active"},
    {"consent": "1", "status": "active", "territory": "Zagreb"},
    {"territory": "Dalmacija", "group": "Javni sektor"},
]


def _targets(session: Session, who: Who, campaign_id: int, chosen: Mapping[str, str]) -> None:
    values = dict(chosen)
    if "territory" in values:
        found = session.scalar(
            select(Territory.id).where(Territory.name == values.pop("territory"))
        )
        values["territory_id"] = str(found)
    if "group" in values:
        found = session.scalar(
            select(PartnerGroup.id).where(PartnerGroup.name == values.pop("group"))
        )
        values["group_id"] = str(found)
    targets.freeze(session, who, campaign_id, criteria.Criteria.model_validate(values))


def _roll_out(session: Session, who: Who, campaign_id: int, kind: int) -> None:
    sale = session.scalar(
        select(ProcessType.id)
        .where(
            ProcessType.process == "deal", ProcessType.direction == "sale", ProcessType.is_active
        )
        .order_by(ProcessType.id)
    )
    title = ("Pozvati na štand", "", "Nazvati i ponuditi katalog")[kind]
    data = rollout.RolloutIn(deal_type_id=sale, task_title=title)
    rollout.run_all(session, rollout.start(session, who, campaign_id, data))


# How the phone round's targets answered, in order of their ids (the rest: contacted).
ANSWERS = ["won", "won", "interested", "responded", "not_interested", "lost", "won", "opted_out"]


def _answers(session: Session, campaign_id: int) -> None:
    listed = list(
        session.scalars(
            select(CampaignTarget)
            .where(CampaignTarget.campaign_id == campaign_id)
            .order_by(CampaignTarget.id)
        )
    )
    for index, target in enumerate(listed):
        status = ANSWERS[index] if index < len(ANSWERS) else "contacted"
        targets.set_status(session, SYSTEM, [target.id], status)
        if status in ("won", "lost") and target.deal_id is not None:
            deal = session.get_one(Deal, target.deal_id)
            deal.amount = decimal.Decimal(1800 + 700 * index)
            reason = "Odabrali drugog dobavljača" if status == "lost" else ""
            close_deal(session, SYSTEM, deal.id, CloseIn(status=status, reason=reason))
