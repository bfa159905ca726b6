"""Demo calendars and tasks: a few weeks of realistic meetings around today (weekly
team meetings with an excluded date, client visits linked to their partners, all-day
fairs), and tasks handed
between the sales people at every stage (waiting, accepted, rejected, in a team, done,
overdue), each also in its owner's CRM task list."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.access.policy import load_who, visible
from groupware.accounts.models import Team, User
from groupware.caldav import meetings, store
from groupware.caldav.models import CalendarItem
from groupware.crm.models import Partner
from groupware.tasks import service

ZONE = zoneinfo.ZoneInfo("Europe/Zagreb")
MEETINGS = ["Sastanak s kupcem", "Prezentacija ponude", "Posjet terenu", "Pregovori", "Poziv"]
CLIENT_MEETINGS = {"Sastanak s kupcem", "Prezentacija ponude", "Pregovori"}
TASKS = [
    ("Pripremiti ponudu za blagajne", "ana", "ivana", "accepted", 40),
    ("Nazvati nabavu oko isporuke", "marko", "tomislav", "pending", 0),
    ("Poslati katalog 2027", "marko", "ivana", "rejected", 0),
    ("Obići nove kupce u Splitu", "petra", "luka", "accepted", 70),
    ("Reklamacija: zamjena vage", "davor", "nikola", "accepted", 100),
    ("Provjeriti otvorene stavke", "maja", "filip", "accepted", 10),
    ("Ugovor o održavanju", "ana", "marko", "pending", 0),
]


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _event(uid: str, start: dt.datetime, end: dt.datetime, summary: str, extra: str = "") -> str:
    return (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//groupware//demo//HR\r\nBEGIN:VEVENT\r\n"
        f"UID:{uid}\r\nDTSTAMP:{_stamp(start)}\r\nDTSTART:{_stamp(start)}\r\n"
        f"DTEND:{_stamp(end)}\r\nSUMMARY:{summary}\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )


def _put(session: Session, user: User, uid: str, text: str) -> CalendarItem:
    calendar = next(c for c in store.ensure_defaults(session, user) if c.kind == "personal")
    (item,) = store.parse_items(text)
    return store.put_item(session, calendar, f"{uid}.ics", item)


def load_calendar_demo(session: Session, users: Mapping[str, User], today: dt.date) -> int:
    """Meetings for every user and the demo tasks; returns how many events were made."""
    rng = random.Random(27)  # noqa: S311 - demo data, repeatable on purpose
    monday = today - dt.timedelta(days=today.weekday())
    linking = random.Random(31)  # noqa: S311 - apart, so the meetings stay as they were
    made = 0
    for name, user in users.items():
        seen = select(Partner.id).where(visible(Partner, load_who(session, user)))
        clients = list(session.scalars(seen.order_by(Partner.id).limit(30)))
        start = dt.datetime.combine(monday - dt.timedelta(weeks=4), dt.time(9, 0), tzinfo=ZONE)
        skipped = start + dt.timedelta(weeks=5)
        weekly = _event(
            f"demo-weekly-{name}",
            start,
            start + dt.timedelta(hours=1),
            "Tjedni sastanak tima",
            f"RRULE:FREQ=WEEKLY;COUNT=16\r\nEXDATE:{_stamp(skipped)}\r\n",
        )
        _put(session, user, f"demo-weekly-{name}", weekly)
        made += 1
        for n in range(12):
            day = monday + dt.timedelta(days=rng.randrange(-14, 21))
            if day.weekday() >= 5:
                continue
            begin = dt.datetime.combine(day, dt.time(rng.choice([10, 11, 13, 14, 15])), tzinfo=ZONE)
            uid = f"demo-{name}-{n}"
            summary = rng.choice(MEETINGS)
            row = _put(
                session, user, uid, _event(uid, begin, begin + dt.timedelta(minutes=90), summary)
            )
            if summary in CLIENT_MEETINGS and clients:  # with a partner: on its page
                meetings.set_links(session, row, [("partners", linking.choice(clients))])
            made += 1
    _tasks(session, users, today, rng)
    return made


def _tasks(session: Session, users: Mapping[str, User], today: dt.date, rng: random.Random) -> None:
    for n, (title, giver, taker, answer, progress) in enumerate(TASKS):
        giver_who = load_who(session, users[giver])
        seen = select(Partner.id).where(visible(Partner, giver_who)).order_by(Partner.id)
        partners = list(session.scalars(seen.limit(20)))
        due = dt.datetime.combine(today + dt.timedelta(days=n * 2 - 4), dt.time(16), tzinfo=ZONE)
        data = service.TaskIn(
            title=title,
            due_at=due,
            assignee_id=users[taker].id,
            partner_id=rng.choice(partners) if partners else None,
            priority="high" if n % 3 == 0 else "normal",
            note="Molim do roka.",
        )
        task = service.create_task(session, giver_who, data)
        taker_who = load_who(session, users[taker])
        if answer == "accepted":
            service.answer_task(session, taker_who, task.id, service.AnswerIn(accept=True))
            if progress:
                service.set_progress(
                    session, taker_who, task.id, service.ProgressIn(progress=progress)
                )
        elif answer == "rejected":
            reason = "Nije moje područje, predaj Luki."
            service.answer_task(
                session, taker_who, task.id, service.AnswerIn(accept=False, reason=reason)
            )
    team = session.scalar(select(Team).where(Team.name == "Prodaja Zagreb"))
    if team is not None:
        when = dt.datetime.combine(today + dt.timedelta(days=3), dt.time(10), tzinfo=ZONE)
        data = service.TaskIn(
            title="Dežurstvo na sajmu",
            starts_at=when,
            due_at=when + dt.timedelta(hours=4),
            team_id=team.id,
        )
        service.create_task(session, load_who(session, users["marko"]), data)
    # A timed task in someone's day, for the occupancy view.
    when = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(12), tzinfo=ZONE)
    timed = service.TaskIn(
        title="Obilazak Konzuma", starts_at=when, due_at=when + dt.timedelta(hours=2)
    )
    service.create_task(session, load_who(session, users["ivana"]), timed)
