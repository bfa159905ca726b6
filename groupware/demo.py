"""A demo company: a Croatian distributor with management, three sales teams,
procurement, service and accounting; users in teams with roles, and data for each
module that has landed. Later modules add their part in :func:`load_demo`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts.models import Role, Team, User
from groupware.accounts.passwords import hash_password
from groupware.accounts.teams import TeamIn, create_team
from groupware.accounts.users import UserIn, create_user
from groupware.announcements.models import Announcement
from groupware.crm.demo import load_crm_demo
from groupware.db import Database, bind_actor, utcnow
from groupware.deals.demo import load_deals_demo
from groupware.i18n import gettext, today
from groupware.mail.demo import load_mail_demo
from groupware.notifications.service import notify
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


def load_demo(database: Database) -> bool:
    """Load the demo company; False when it is loaded already."""
    usernames = [username for username, *_rest in USERS]
    with database.transaction(actor_id=None, channel="cli") as session:
        if session.scalar(select(User.id).where(User.username.in_(usernames)).limit(1)):
            return False
        _load(session, database.settings.mail_domain)
        return True


def _load(session: Session, mail_domain: str) -> None:
    teams = {
        name: create_team(session, TeamIn(name=name, description=text)) for name, text in TEAMS
    }
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
    _announcements(session, users, teams)
    load_crm_demo(session, users)
    load_deals_demo(session, users, today())
    load_calendar_demo(session, users, today())
    load_mail_demo(session, users, teams, mail_domain)
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
    session.flush()


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
