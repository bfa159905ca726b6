"""A small company in which every user owns, made, handed on and shares something of
every record type the access policy knows: the world of the differential access test.

The people (each with a different way of seeing records):

- ``root``: administrator (scope "all" everywhere);
- ``dave``: manager, lead of team North (scope "team");
- ``alice``: sales, North, covers the territory Zagreb (scopes "own" and "territory");
- ``bob``: sales, North, covers no territory;
- ``charlie``: sales, South, covers the territory Dalmacija;
- ``erin``: staff, South (scope "own" only);
- ``frank``: no role at all (sees only what is shared with him).

Every record's name carries a token (``Zq1p7`` ...) found nowhere else, so that a page
that shows a record can be told from one that does not.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access import shares
from groupware.access.policy import SYSTEM, Who, load_who
from groupware.accounts.models import Team, User
from groupware.accounts.teams import TeamIn, create_team
from groupware.activities.service import ActivityIn, add_activity
from groupware.announcements.service import AnnouncementIn, create_announcement, publish
from groupware.caldav import store
from groupware.campaigns.service import CampaignIn, create_campaign
from groupware.campaigns.types import CAMPAIGN_TYPES
from groupware.crm.documents import DocumentIn, upsert_document
from groupware.crm.models import Person
from groupware.crm.partners import set_reps
from groupware.crm.persons import BranchIn, PersonIn, save_branch, save_person
from groupware.crm.territories.groups import GroupIn, create_group
from groupware.db import Base
from groupware.deals.service import DealIn, create_deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.mail import compose
from groupware.mail.models import MailEntry
from groupware.phases import types as phase_types
from groupware.settings import Settings
from groupware.tasks import service as tasks
from groupware.validation import validate
from tests.factories import make_partner, make_rule, make_territory, make_user

PEOPLE = ("root", "dave", "alice", "bob", "charlie", "erin", "frank")


@dataclass
class World:
    users: dict[str, User]
    teams: dict[str, Team]
    # record type -> record id -> the token in its name
    tokens: dict[str, dict[int, str]] = field(default_factory=dict)
    # user name -> a message in their mailbox (to file on a record)
    mail: dict[str, int] = field(default_factory=dict)

    def who(self, session: Session, name: str) -> Who:
        return load_who(session, session.get(User, self.users[name].id))  # type: ignore[arg-type]

    def add(self, record: Base, token: str) -> None:
        table = str(record.__tablename__)
        self.tokens.setdefault(table, {})[int(record.id)] = token  # type: ignore[attr-defined]


def _token(counter: list[int]) -> str:
    counter[0] += 1
    return f"Zq{counter[0]}p7"


def build_world(session: Session, settings: Settings) -> World:
    north = create_team(session, TeamIn(name="North"))
    south = create_team(session, TeamIn(name="South"))
    users = {
        "root": make_user(session, "root", roles=("admin",)),
        "dave": make_user(session, "dave", roles=("manager",), teams=(north,), lead_of=(north,)),
        "alice": make_user(session, "alice", roles=("sales",), teams=(north,)),
        "bob": make_user(session, "bob", roles=("sales",), teams=(north,)),
        "charlie": make_user(session, "charlie", roles=("sales",), teams=(south,)),
        "erin": make_user(session, "erin", roles=("staff",), teams=(south,)),
        "frank": make_user(session, "frank", roles=()),
    }
    world = World(users, {"north": north, "south": south})
    counter = [0]
    u = {name: user.id for name, user in users.items()}
    whos = {name: world.who(session, name) for name in PEOPLE}

    zagreb = make_territory(session, "Zagreb", counties=("HR-21",))
    dalmacija = make_territory(session, "Dalmacija", counties=("HR-17",))
    make_rule(session, zagreb, (users["alice"],))
    make_rule(session, dalmacija, (users["charlie"],))

    # -- partners, with a person, a branch and an ERP document each ----------------
    partners = {}
    places = {
        "zagreb": ("Zagreb", "10000"),  # alice's by the table
        "split": ("Split", "21000"),  # charlie's by the table
        "osijek": ("Osijek", "31000"),  # nobody's territory: erin's by hand
        "rijeka": ("Rijeka", "51000"),  # bob's by hand, frank a further rep
        "pula": ("Pula", "52100"),  # frank's, shared with erin and team South
        "zadar": ("Zadar", "23000"),  # nobody's at all
    }
    groups = [create_group(session, GroupIn(name=n)) for n in ("Retail", "Wholesale")]
    for number, (key, (city, postal_code)) in enumerate(places.items()):
        token = _token(counter)
        partner = make_partner(
            session,
            SYSTEM,
            f"Partner {token}",
            city=city,
            postal_code=postal_code,
            group_id=groups[number % 2].id,
        )
        partners[key] = partner
        world.add(partner, token)
    set_reps(session, partners["osijek"], owner_id=u["erin"], rep_ids=[])
    set_reps(session, partners["rijeka"], owner_id=u["bob"], rep_ids=[u["frank"]])
    set_reps(session, partners["pula"], owner_id=u["frank"], rep_ids=[])
    shares.share(session, partners["pula"], by_user_id=u["frank"], user_id=u["erin"])
    shares.share(
        session, partners["pula"], by_user_id=u["frank"], team_id=south.id, permission="write"
    )
    for number, (key, partner) in enumerate(partners.items(), start=1):
        token = _token(counter)
        person = save_person(
            session,
            SYSTEM,
            None,
            PersonIn(partner_id=partner.id, last_name=f"Person {token}", email=f"{token}@x.hr"),
        )
        world.add(person, token)
        token = _token(counter)
        branch = save_branch(
            session, SYSTEM, None, BranchIn(partner_id=partner.id, name=f"Branch {token}")
        )
        world.add(branch, token)
        token = _token(counter)
        document, _new = upsert_document(
            session,
            SYSTEM,
            DocumentIn(
                kind="invoice",
                number=f"R-{token}",
                date=dt.date(2026, 11, number),
                partner_id=partner.id,
                net_amount=decimal.Decimal(100 * number),
                gross_amount=decimal.Decimal(125 * number),
            ),
        )
        world.add(document, token)
        if key == "zadar":  # records of a partner nobody sees, shared with bob or frank
            shares.share(session, person, by_user_id=None, user_id=u["bob"])
            shares.share(session, document, by_user_id=None, user_id=u["frank"])
            shares.share(session, branch, by_user_id=None, team_id=south.id)

    # -- deals ----------------------------------------------------------------------
    sale = save_type(
        session,
        SYSTEM,
        None,
        TypeIn(
            name="Sale",
            direction="sale",
            phases=[StepIn(name="Qualify", planned_days=5), StepIn(name="Offer", planned_days=9)],
        ),
    )
    deal_plan = [
        ("zagreb", "alice", []),
        ("split", "charlie", ["bob"]),
        ("osijek", "erin", []),
        ("rijeka", "bob", []),
        ("zagreb", "dave", []),
        ("zadar", "frank", ["erin"]),
        ("pula", "root", []),
    ]
    deals = []
    for number, (place, owner, members) in enumerate(deal_plan, start=1):
        token = _token(counter)
        deal = create_deal(
            session,
            SYSTEM,
            DealIn(
                title=f"Deal {token}",
                partner_id=partners[place].id,
                type_id=sale.id,
                owner_id=u[owner],
                member_ids=[u[m] for m in members],
                amount=decimal.Decimal(1000 * number),
                probability=50,
                started_on=dt.date(2026, 11, 2),
                expected_close=dt.date(2027, 1, number),
            ),
        )
        deals.append(deal)
        world.add(deal, token)
    shares.share(session, deals[3], by_user_id=u["bob"], user_id=u["charlie"], permission="write")
    shares.share(session, deals[2], by_user_id=u["erin"], team_id=north.id)
    shares.share(session, deals[0], by_user_id=u["alice"], user_id=u["frank"])

    # -- campaigns: owned, of a team, shared ------------------------------------------
    fair = phase_types.save_type(
        session,
        SYSTEM,
        CAMPAIGN_TYPES,
        None,
        TypeIn(name="Fair", phases=[StepIn(name="Stand", planned_days=9)]),
    )
    campaign_plan = [
        ("alice", north),
        ("charlie", south),
        ("erin", None),
        ("dave", None),
        ("frank", north),
        ("root", None),
    ]
    campaigns = []
    for owner, team in campaign_plan:
        token = _token(counter)
        campaign = create_campaign(
            session,
            SYSTEM,
            CampaignIn(
                name=f"Campaign {token}",
                type_id=fair.id,
                owner_id=u[owner],
                team_id=team.id if team is not None else None,
                starts_on=dt.date(2026, 11, 2),
            ),
        )
        campaigns.append(campaign)
        world.add(campaign, token)
    shares.share(session, campaigns[1], by_user_id=u["charlie"], user_id=u["bob"])
    shares.share(
        session, campaigns[2], by_user_id=u["erin"], user_id=u["frank"], permission="write"
    )

    # -- tasks: made for others, handed on, waiting in a team, shared -----------------
    def task(maker: str, title_of: str, **values: object) -> int:
        token = _token(counter)
        data = validate(tasks.TaskIn, {"title": f"{title_of} {token}", **values})
        row = tasks.create_task(session, whos[maker] if maker else SYSTEM, data)
        world.add(row, token)
        return int(row.id)

    task("alice", "For bob", assignee_id=u["bob"])
    task("bob", "Own")
    task("charlie", "For North", team_id=north.id)
    handed = task("erin", "Handed on")
    tasks.delegate_task(
        session, whos["erin"], handed, validate(tasks.DelegateIn, {"assignee_id": u["charlie"]})
    )
    shared_task = task("dave", "For alice", assignee_id=u["alice"])
    shares.share(session, session.get(tasks.Task, shared_task), by_user_id=u["dave"],
                 user_id=u["frank"])  # fmt: skip
    task("", "Frank's", assignee_id=u["frank"])
    task("root", "For South", team_id=south.id)
    task("charlie", "Charlie's own", partner_id=partners["split"].id)

    # -- notes and calls on partners, persons, deals and tasks, by whoever sees them ---
    def note(record: Base, kind: str = "note") -> None:
        token = _token(counter)
        data = ActivityIn(kind=kind, body=f"Logged {token}")  # type: ignore[arg-type]
        row = add_activity(session, SYSTEM, str(record.__tablename__), record.id, data)  # type: ignore[attr-defined]
        world.add(row, token)

    for partner in partners.values():
        note(partner)
    for person in session.scalars(select(Person).order_by(Person.id)):
        note(person, "call")
    for deal in deals:
        note(deal, "call")
    for task_row in session.scalars(select(tasks.Task).order_by(tasks.Task.id).limit(4)):
        note(task_row)

    # -- calendars: everyone's own, two of them shared --------------------------------
    for name in PEOPLE:
        for calendar in store.ensure_defaults(session, users[name]):
            token = _token(counter)
            calendar.name = f"{calendar.name} {token}"
            world.add(calendar, token)
    alices = store.calendars_of(session, u["alice"])[0]
    charlies = store.calendars_of(session, u["charlie"])[0]
    shares.share(session, alices, by_user_id=u["alice"], user_id=u["bob"])
    shares.share(session, charlies, by_user_id=u["charlie"], team_id=north.id, permission="write")

    # -- announcements: drafts, one for the company, one for a team, one shared -------
    for name in PEOPLE:
        if not whos[name].can("announcements", "create"):
            continue
        token = _token(counter)
        draft = create_announcement(session, whos[name], AnnouncementIn(title=f"Draft {token}"))
        world.add(draft, token)
    token = _token(counter)
    company = create_announcement(session, whos["alice"], AnnouncementIn(title=f"All {token}"))
    publish(session, company)
    world.add(company, token)
    token = _token(counter)
    team_news = create_announcement(
        session,
        whos["charlie"],
        AnnouncementIn(title=f"South {token}", audience="team", team_id=south.id),
    )
    publish(session, team_news)
    world.add(team_news, token)
    token = _token(counter)
    shared_draft = create_announcement(session, whos["erin"], AnnouncementIn(title=f"S {token}"))
    shares.share(session, shared_draft, by_user_id=u["erin"], user_id=u["frank"])
    world.add(shared_draft, token)

    # -- a note to self in everyone's mailbox ------------------------------------------
    for name in PEOPLE:
        note = compose.MailIn(to=users[name].email, subject="Note", text="To file.")
        message = compose.send(session, users[name], note, settings)
        entry = session.scalar(
            select(MailEntry.id).where(
                MailEntry.message_id == message.id, MailEntry.user_id == users[name].id
            )
        )
        assert entry is not None
        world.mail[name] = entry
    session.flush()
    return world
