"""A company with something on everyone's dashboard, for the dashboard's tests.

On top of the deal tests' sales set-up (alice and bob are reps of Zagreb in team North,
charlie of Dalmacija in team South, dave leads North, root administers): open and
closed deals of each of them in each phase, one in dollars; tasks overdue, due today
and tomorrow, one waiting in team North; meetings in alice's and bob's calendars; mail
and notifications; and erin, a planner in team North whose role reaches her team's
tasks but only her own deals, so that her team's deal figures would show deals she may
not see if anything counted past the access filter.

The figures are read at a fixed moment, noon of today in the company's time zone,
so that "due today" does not depend on when the tests run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.access.policy import load_who, may
from groupware.accounts.models import TeamMember, User
from groupware.accounts.roles import RoleIn, create_role
from groupware.caldav import store
from groupware.caldav.event_form import EventIn, create_event
from groupware.dashboard import Scope, WidgetArgs, pick_scope, scopes_for
from groupware.db import Database
from groupware.deals.dashboard import month_of, quarter_of
from groupware.deals.models import Deal
from groupware.deals.service import CloseIn, DealIn, close_deal, create_deal, move_deal, phases_of
from groupware.i18n import today
from groupware.mail.delivery import deliver
from groupware.mail.models import MailEntry
from groupware.notifications.models import Notification
from groupware.notifications.service import mark_read, notify
from groupware.phases.models import TypePhase
from groupware.tasks.models import Task
from groupware.tasks.service import TaskIn, create_task
from tests.deals.conftest import Setup, make_setup
from tests.factories import MAIL_DOMAIN, Cast, make_announcement, make_user

ZONE = zoneinfo.ZoneInfo("Europe/Zagreb")


def noon() -> dt.datetime:
    """The moment the figures are read at: noon today, company time, in UTC."""
    return dt.datetime.combine(today(), dt.time(12), ZONE).astimezone(dt.UTC)


@dataclass
class World:
    setup: Setup
    erin: User
    now: dt.datetime

    @property
    def cast(self) -> Cast:
        return self.setup.cast


def _deal(
    db: Session, setup: Setup, owner: User, amount: str, probability: int, **values: Any
) -> Deal:
    root = load_who(db, setup.cast.root)
    values.setdefault("partner_id", setup.zagreb_partner.id)
    values.setdefault("type_id", setup.sale.id)
    data = DealIn(
        title=values.pop("title", f"{owner.username} {amount}"),
        owner_id=owner.id,
        amount=amount,
        probability=probability,
        started_on=today() - dt.timedelta(days=200),
        expected_close=values.pop("expected_close", today()),
        **values,
    )
    return create_deal(db, root, data)


def _won(db: Session, setup: Setup, deal: Deal, on: dt.date) -> None:
    close_deal(db, load_who(db, setup.cast.root), deal.id, CloseIn(status="won", on=on))


def _to_step(db: Session, setup: Setup, deal: Deal, number: int) -> None:
    phase = phases_of(db, deal)[number]
    move_deal(db, load_who(db, setup.cast.root), deal.id, phase.id)


def _deals(db: Session, setup: Setup) -> None:
    cast = setup.cast
    first_of_quarter = quarter_of(today())[0]
    _deal(db, setup, cast.alice, "10000.00", 50)
    _to_step(db, setup, _deal(db, setup, cast.alice, "8000.00", 30), 1)
    _deal(db, setup, cast.alice, "3000.00", 50, type_id=setup.purchase.id, direction="purchase")
    _deal(db, setup, cast.alice, "99999.00", 90, currency="USD")  # not in euros: not counted
    _won(db, setup, _deal(db, setup, cast.alice, "5000.00", 40), today())
    lost = _deal(db, setup, cast.alice, "4000.00", 20)
    close_deal(db, load_who(db, cast.root), lost.id, CloseIn(status="lost", reason="price"))
    _to_step(db, setup, _deal(db, setup, cast.bob, "20000.00", 25), 2)
    _won(db, setup, _deal(db, setup, cast.bob, "7000.00", 60), first_of_quarter)
    _deal(db, setup, cast.bob, "1500.00", 10, expected_close=today() + dt.timedelta(days=400))
    _deal(db, setup, cast.charlie, "40000.00", 80, partner_id=setup.split_partner.id)
    split = setup.split_partner.id
    _won(db, setup, _deal(db, setup, cast.charlie, "9000.00", 50, partner_id=split), today())
    _deal(db, setup, cast.dave, "6000.00", 60)


def _tasks(db: Session, setup: Setup, now: dt.datetime) -> None:
    cast = setup.cast
    root = load_who(db, cast.root)
    for user, title, due in (
        (cast.alice, "alice overdue", now - dt.timedelta(days=1)),
        (cast.alice, "alice later today", now + dt.timedelta(hours=2)),
        (cast.alice, "alice tomorrow", now + dt.timedelta(days=1)),
        (cast.alice, "alice undated", None),
        (cast.bob, "bob overdue", now - dt.timedelta(hours=3)),
        (cast.charlie, "charlie later today", now + dt.timedelta(hours=1)),
        (cast.dave, "dave overdue", now - dt.timedelta(days=3)),
    ):
        create_task(db, root, TaskIn(title=title, due_at=due, assignee_id=user.id))
    waiting = TaskIn(
        title="North later today", due_at=now + dt.timedelta(hours=4), team_id=cast.north.id
    )
    create_task(db, root, waiting)
    done = create_task(
        db,
        root,
        TaskIn(title="alice done", due_at=now - dt.timedelta(days=2), assignee_id=cast.alice.id),
    )
    done.status = "done"
    db.flush()


def _meetings(db: Session, setup: Setup) -> None:
    cast = setup.cast
    day = today()
    for user, title, start, hours, all_day in (
        (cast.alice, "Alice stand-up", dt.datetime.combine(day, dt.time(9)), 1, False),
        (cast.alice, "Alice fair", dt.datetime.combine(day, dt.time()), 24, True),
        (
            cast.alice,
            "Alice visit",
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(14)),
            2,
            False,
        ),
        (
            cast.alice,
            "Alice next week",
            dt.datetime.combine(day + dt.timedelta(days=7), dt.time(9)),
            1,
            False,
        ),
        (cast.bob, "Bob today", dt.datetime.combine(day, dt.time(10)), 1, False),
    ):
        calendar = next(c for c in store.ensure_defaults(db, user) if c.kind == "personal")
        event = EventIn(
            title=title,
            calendar_id=calendar.id,
            all_day=all_day,
            start=start,
            end=start + dt.timedelta(hours=hours),
            location="",
            description="",
            repeat="",
            until=None,
        )
        create_event(db, calendar, event)


def _mail(db: Session, setup: Setup) -> None:
    cast = setup.cast
    for recipient, subject in (
        (cast.alice, "Ponuda za blagajne"),
        (cast.alice, "Narudžba papira"),
        (cast.alice, "Already read"),
        (cast.bob, "For bob only"),
    ):
        raw = (
            f"From: Root <root@{MAIL_DOMAIN}>\r\nTo: {recipient.email}\r\n"
            f"Subject: {subject}\r\nMessage-ID: <{subject.replace(' ', '.')}@x>\r\n\r\nText\r\n"
        ).encode()
        deliver(
            db,
            raw,
            envelope_from=f"root@{MAIL_DOMAIN}",
            envelope_to=[recipient.email],
            recipients=[recipient],
            sender=None,
            mail_domain=MAIL_DOMAIN,
        )
    mine = select(MailEntry).where(MailEntry.user_id == cast.alice.id).order_by(MailEntry.id)
    read = db.scalars(mine).all()[-1]
    read.seen = True
    db.flush()


def _notifications(db: Session, setup: Setup) -> None:
    cast = setup.cast
    notify(db, cast.alice, title="Phase is late", kind="alert")
    seen = notify(db, cast.alice, title="Seen already")
    notify(db, cast.bob, title="For bob")
    assert seen is not None
    mark_read(db, cast.alice.id, seen.id)


def make_world(db: Session, cast: Cast) -> World:
    setup = make_setup(db, cast)
    planner = create_role(
        db,
        RoleIn(
            name="planner",
            grants=[
                ("deals", "view", "own"),
                ("deals", "create", "own"),
                ("tasks", "view", "team"),
                ("tasks", "create", "own"),
            ],
        ),
    )
    erin = make_user(db, "erin", roles=(planner.name,), teams=(cast.north,))
    now = noon()
    _deals(db, setup)
    _deal(db, setup, erin, "2500.00", 40)
    _tasks(db, setup, now)
    _meetings(db, setup)
    _mail(db, setup)
    _notifications(db, setup)
    make_announcement(
        db, cast.root, title="Inventura u petak", status="published", published_at=now
    )
    make_announcement(db, cast.root, title="Still a draft")
    return World(setup, erin, now)


def commit_world(database: Database, committed: Cast) -> World:
    """The world, committed for a live server, on the cast ``committed`` made."""
    with database.transaction(actor_id=None, channel="cli") as session:
        cast = Cast(
            **{
                f.name: session.get(type(getattr(committed, f.name)), getattr(committed, f.name).id)
                for f in dataclasses.fields(Cast)
            }
        )
        return make_world(session, cast)


# -- reading the figures, and what they should be ----------------------------------


def args(
    db: Session, user: User, scope_key: str = "", *, now: dt.datetime | None = None
) -> WidgetArgs:
    who = load_who(db, user)
    scope = pick_scope(scopes_for(db, who), scope_key)
    assert scope is not None, scope_key
    moment = now or noon()
    return WidgetArgs(db, who, scope, moment.astimezone(ZONE).date(), moment)


def figures(db: Session, user: User, widget: str, scope_key: str = "") -> dict[str, Any]:
    found = {w.name: w for w in wiring.current().dashboard_widgets}[widget]
    return dict(found.figures(args(db, user, scope_key)))


def owners(db: Session, scope: Scope) -> set[int] | None:
    """Whose records the scope counts, worked out apart from the code under test."""
    if scope.kind == "own":
        assert scope.user_id is not None
        return {scope.user_id}
    if scope.kind == "team":
        return set(
            db.scalars(select(TeamMember.user_id).where(TeamMember.team_id == scope.team_id))
        )
    return None


def seen_deals(db: Session, user: User, scope_key: str = "") -> list[Deal]:
    """The euro deals of the scope that the user may see, by the per-record check."""
    a = args(db, user, scope_key)
    scope_owners = owners(db, a.scope)
    return [
        deal
        for deal in db.scalars(select(Deal).order_by(Deal.id))
        if deal.currency == "EUR"
        and (scope_owners is None or deal.owner_id in scope_owners)
        and may(db, a.who, deal)
    ]


def expected_pipeline(
    db: Session, user: User, scope_key: str = ""
) -> dict[tuple[str, str], tuple[int, decimal.Decimal, decimal.Decimal]]:
    found: dict[tuple[str, str], tuple[int, decimal.Decimal, decimal.Decimal]] = {}
    for deal in seen_deals(db, user, scope_key):
        if deal.status != "open":
            continue
        step = db.get(TypePhase, deal.step_id) if deal.step_id else None
        key = (deal.type.name, step.name if step else "")
        count, amount, weighted = found.get(key, (0, decimal.Decimal(0), decimal.Decimal(0)))
        found[key] = (
            count + 1,
            amount + deal.amount,
            weighted + deal.amount * deal.probability / 100,
        )
    return {k: (c, a, w.quantize(decimal.Decimal("0.01"))) for k, (c, a, w) in found.items()}


def expected_forecast(
    db: Session, user: User, scope_key: str = ""
) -> list[tuple[decimal.Decimal, decimal.Decimal]]:
    """(forecast, realised) of this month and of this quarter."""
    deals = [d for d in seen_deals(db, user, scope_key) if d.direction == "sale"]
    result = []
    for start, end in (month_of(today()), quarter_of(today())):
        forecast = sum(
            (
                d.amount * d.probability / 100
                for d in deals
                if d.status == "open" and d.expected_close and start <= d.expected_close <= end
            ),
            decimal.Decimal(0),
        )
        realised = sum(
            (
                d.amount
                for d in deals
                if d.status == "won" and d.closed_on and start <= d.closed_on <= end
            ),
            decimal.Decimal(0),
        )
        result.append((forecast.quantize(decimal.Decimal("0.01")), realised))
    return result


def expected_tasks(
    db: Session, user: User, due: str, scope_key: str = "", now: dt.datetime | None = None
) -> list[str]:
    """Titles of the open tasks of the scope due today or overdue that the user may see."""
    a = args(db, user, scope_key, now=now)
    scope_owners = owners(db, a.scope)
    midnight = dt.datetime.combine(a.today + dt.timedelta(days=1), dt.time(), ZONE)
    found = []
    for task in db.scalars(select(Task).order_by(Task.due_at, Task.id)):
        if task.status not in ("open", "in_progress") or task.due_at is None:
            continue
        in_scope = (
            scope_owners is None
            or task.owner_id in scope_owners
            or (a.scope.kind == "team" and task.team_id == a.scope.team_id)
        )
        is_due = task.due_at < a.now if due == "overdue" else a.now <= task.due_at < midnight
        if in_scope and is_due and may(db, a.who, task):
            found.append(task.title)
    return found


def unread(db: Session, user: User) -> tuple[int, int]:
    """(unread inbox messages, unread notifications) of the user, counted plainly."""
    mail = db.scalars(
        select(MailEntry).where(MailEntry.user_id == user.id, MailEntry.folder == "inbox")
    ).all()
    notes = db.scalars(select(Notification).where(Notification.user_id == user.id)).all()
    return sum(not m.seen for m in mail), sum(n.read_at is None for n in notes)
