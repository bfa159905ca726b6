"""A demo company: a Croatian distributor with management, three sales teams,
procurement, service and accounting; users in teams with roles, and data for each
module that has landed. Later modules add their part in :func:`load_demo`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts.models import Role, Team, User
from groupware.accounts.passwords import hash_password
from groupware.accounts.teams import TeamIn, create_team
from groupware.accounts.users import UserIn, create_user
from groupware.announcements.models import Announcement
from groupware.campaigns.demo import load_campaigns_demo
from groupware.crm.demo import load_crm_demo
from groupware.db import Database, bind_actor, utcnow
from groupware.deals.demo import load_deals_demo
from groupware.i18n import gettext, today
from groupware.mail.demo import load_mail_demo
from groupware.notifications.models import Notification
from groupware.notifications.service import notify
from groupware.phases.alerts import raise_alerts
from groupware.phases.models import Alert
from groupware.settings import Settings
from groupware.tasks.demo import load_calendar_demo

DEMO_PASSWORD = "demo1234"  # noqa: S105 - published on purpose: demo data only

TEAMS = [
    ("Uprava", "Uprava društva i administracija sustava"),
    ("Prodaja Zagreb", "Prodaja za Grad Zagreb, Zagrebačku i Krapinsko-zagorsku županiju"),
    ("Prodaja Dalmacija", "Prodaja za Splitsko-dalmatinsku, Zadarsku i Dubrovačko-neretvansku"),
    ("Prodaja Slavonija", "Prodaja za Osječko-baranjsku, Vukovarsko-srijemsku i Brodsko-posavsku"),
    ("Nabava", "Nabava robe i odnosi s dobavljačima"),
    ("Servis", "Servis, održavanje i podrška kupcima"),
    ("Računovodstvo", "Financije i računovodstvo"),
]

# username, full name, language, roles, teams (a * marks the team lead)
USERS = [
    ("ana", "Ana Horvat", "hr", ["admin"], ["*Uprava"]),
    ("marko", "Marko Kovačević", "hr", ["manager"], ["*Prodaja Zagreb"]),
    ("ivana", "Ivana Babić", "hr", ["sales"], ["Prodaja Zagreb"]),
    ("tomislav", "Tomislav Novak", "en", ["sales"], ["Prodaja Zagreb"]),
    ("petra", "Petra Jurić", "hr", ["manager"], ["*Prodaja Dalmacija"]),
    ("luka", "Luka Marić", "hr", ["sales"], ["Prodaja Dalmacija"]),
    ("maja", "Maja Knežević", "hr", ["manager", "sales"], ["*Prodaja Slavonija"]),
    ("filip", "Filip Pavić", "hr", ["sales"], ["Prodaja Slavonija"]),
    ("josip", "Josip Vuković", "hr", ["manager"], ["*Nabava"]),
    ("katarina", "Katarina Pavlović", "en", ["staff"], ["Nabava"]),
    ("davor", "Davor Blažević", "hr", ["manager"], ["*Servis"]),
    ("nikola", "Nikola Grgić", "hr", ["staff"], ["Servis"]),
    ("martina", "Martina Šarić", "hr", ["staff"], ["Računovodstvo"]),
]

# author, audience team (None: company), title, body, pinned, published days ago (None: draft)
ANNOUNCEMENTS = [
    (
        "ana",
        None,
        "Dobrodošli u novi CRM",
        "Od ponedjeljka sve ponude, prilike i korespondenciju vodimo ovdje. Kalendar "
        "sinkronizirajte s Thunderbirdom ili Outlookom (upute su u bazi znanja), a poštu "
        "šaljite preko internog poslužitelja.",
        True,
        6,
    ),
    (
        "ana",
        None,
        "Radno vrijeme za blagdane",
        "Od 24.12. do 6.1. skladište radi od 8 do 14 sati. Hitne isporuke dogovarajte s "
        "nabavom najkasnije dva dana unaprijed.",
        False,
        3,
    ),
    (
        "marko",
        "Prodaja Zagreb",
        "Sastanak prodaje u petak",
        "Tjedni pregled prilika u petak u 9 sati, dvorana 2. Pripremite stanje svojih ponuda.",
        False,
        1,
    ),
    (
        "davor",
        "Servis",
        "Novi raspored dežurstava",
        "Raspored dežurstava za prosinac je u zajedničkim datotekama.",
        False,
        2,
    ),
    (
        "josip",
        None,
        "Novi cjenik dobavljača od 1.1.",
        "Nacrt: cijene glavnih dobavljača rastu prosječno 4,5 %. Provjeriti prije objave.",
        False,
        None,
    ),
]


# What a load does, in order: each step's name is told to the caller as it starts.
STEPS = (
    "users and teams",
    "announcements",
    "partners and persons",
    "deals",
    "calendars and tasks",
    "mail",
    "notifications",
)
# Alerts older than this were read by their people before the demo's "today".
READ_AFTER = dt.timedelta(days=2)


def load_demo(database: Database, *, step: Callable[[int, str], None] | None = None) -> bool:
    """Load the demo company; False when it is loaded already. ``step(number, name)``
    is told each of :data:`STEPS` as it starts (numbered from 0)."""
    usernames = [username for username, *_rest in USERS]
    with database.transaction(actor_id=None, channel="cli") as session:
        if session.scalar(select(User.id).where(User.username.in_(usernames)).limit(1)):
            return False
        _load(session, database.settings, step or (lambda number, name: None))
        return True


def _load(session: Session, settings: Settings, step: Callable[[int, str], None]) -> None:
    step(0, STEPS[0])
    teams = {
        name: create_team(session, TeamIn(name=name, description=text)) for name, text in TEAMS
    }
    users = _users(session, teams, settings.mail_domain)
    step(1, STEPS[1])
    _announcements(session, users, teams)
    step(2, STEPS[2])
    load_crm_demo(session, users)
    step(3, STEPS[3])
    load_deals_demo(session, users, today())
    load_campaigns_demo(session, users, teams, today())
    step(4, STEPS[4])
    load_calendar_demo(session, users, today())
    step(5, STEPS[5])
    load_mail_demo(session, users, teams, settings.mail_domain)
    step(6, STEPS[6])
    _notifications(session, users, settings.alert_grace_days)
    session.flush()


def _users(session: Session, teams: dict[str, Team], mail_domain: str) -> dict[str, User]:
    roles = {role.name: role for role in session.scalars(select(Role))}
    password_hash = hash_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    for username, full_name, language, role_names, team_names in USERS:
        data = UserIn(
            username=username,
            full_name=full_name,
            language=language,
            role_ids=[roles[name].id for name in role_names],
            team_ids=[teams[name.lstrip("*")].id for name in team_names],
            lead_team_ids=[teams[name[1:]].id for name in team_names if name.startswith("*")],
        )
        user = create_user(session, data, mail_domain=mail_domain)
        user.password_hash = password_hash
        users[username] = user
    return users


def _notifications(session: Session, users: dict[str, User], grace_days: int) -> None:
    """What people of a company that has used the CRM for months find: the alerts of
    their late deals and tasks raised on the day each fell late (and escalated after
    the grace days), read by them except the last two days' ones, and a welcome."""
    raise_alerts(session, today(), grace_days, channels=False)
    alerts = {f"alert:{a.id}": a for a in session.scalars(select(Alert))}
    now = utcnow()
    for row in session.scalars(select(Notification).where(Notification.dedup_key.like("alert:%"))):
        alert = alerts.get(row.dedup_key or "")
        if alert is None:
            continue
        late_from = alert.due + dt.timedelta(days=1 + (grace_days if alert.level == 2 else 0))
        raised = dt.datetime.combine(late_from, dt.time(6), tzinfo=dt.UTC)
        row.created_at = alert.raised_at = min(raised, now)
        if raised < now - READ_AFTER:
            row.read_at = raised + dt.timedelta(hours=3)
    for user in users.values():
        notify(
            session,
            user,
            title=lambda: gettext("Welcome to groupware"),
            body=lambda: gettext(
                "Set your language and create an app password for your calendar and mail "
                "programs on your profile page."
            ),
            link="/profile",
            dedup_key="demo-welcome",
        )


def _announcements(session: Session, users: dict[str, User], teams: dict[str, Team]) -> None:
    now = utcnow()
    for author, team_name, title, body, pinned, days_ago in ANNOUNCEMENTS:
        bind_actor(session, actor_id=users[author].id, channel="cli")
        session.add(
            Announcement(
                title=title,
                body=body,
                owner_id=users[author].id,
                team_id=teams[team_name].id if team_name else None,
                audience="team" if team_name else "company",
                pinned=pinned,
                status="draft" if days_ago is None else "published",
                published_at=None if days_ago is None else now - dt.timedelta(days=days_ago),
            )
        )
        session.flush()
    bind_actor(session, actor_id=None, channel="cli")
