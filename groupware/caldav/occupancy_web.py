"""The team's occupancy (a day or a week: who is busy when) and "find a free slot"."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route

from groupware.accounts.models import Team, TeamMember, User
from groupware.caldav import occupancy
from groupware.errors import Invalid
from groupware.i18n import _, _l, local_time, parse_date, today
from groupware.validation import parse_id
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("Occupancy"), "occupancy", order=80, icon="calendar-clock")]
HOURS = range(7, 20)  # the hours a day view shows
MAX_PEOPLE = 30


@dataclass(frozen=True)
class Chip:
    busy: occupancy.Busy
    time: str  # from–to in the company's time zone, "…" where it goes on past the day


@dataclass
class Row:
    user: User
    cells: list[list[Chip]]  # per column (hour or day), what overlaps it


def _teams(ctx: Ctx) -> list[Team]:
    query = select(Team).order_by(Team.name)
    if not ctx.acting.is_admin:
        query = query.where(Team.id.in_(ctx.acting.team_ids))
    return list(ctx.db.scalars(query))


def _own_team(ctx: Ctx, teams: list[Team]) -> int | None:
    """The team the page opens on: one the user leads, else one they are in, else (an
    administrator in no team) the first."""
    led = set(
        ctx.db.scalars(
            select(TeamMember.team_id).where(TeamMember.user_id == ctx.me.id, TeamMember.is_lead)
        )
    )
    for wanted in (led, ctx.acting.team_ids):
        for team in teams:
            if team.id in wanted:
                return team.id
    return teams[0].id if teams else None


def _chip(busy: occupancy.Busy, day_start: dt.datetime, day_end: dt.datetime) -> Chip:
    """A busy time as its day's column shows it: 09:00–10:30, or …–10:30 and 15:00–…
    where it began the day before or goes on to the next, or "all day"."""
    if busy.start <= day_start and busy.end >= day_end:
        return Chip(busy, _("all day"))
    begins = "…" if busy.start < day_start else f"{local_time(busy.start):%H:%M}"
    ends = "…" if busy.end > day_end else f"{local_time(busy.end):%H:%M}"
    return Chip(busy, f"{begins}–{ends}")


def _people(ctx: Ctx, team_id: int | None) -> list[User]:
    if team_id is None:
        return [ctx.me]
    query = (
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team_id, User.is_active)
        .order_by(User.full_name)
        .limit(MAX_PEOPLE)
    )
    return list(ctx.db.scalars(query))


def _day(ctx: Ctx) -> dt.date:
    raw = ctx.query("day")
    try:
        return parse_date(raw) if raw else today()
    except ValueError:
        raise Invalid({"day": _("Enter a date as dd.mm.yyyy.")}) from None


Span = tuple[dt.datetime, dt.datetime]


def _columns(day: dt.date, week: bool, zone: zoneinfo.ZoneInfo) -> tuple[list[Span], list[Span]]:
    """The columns (the week's days, or the day's hours) and the day each belongs to,
    which bounds the times its chips show."""

    def midnight(n: int) -> dt.datetime:
        return dt.datetime.combine(day + dt.timedelta(days=n), dt.time(), tzinfo=zone)

    if week:
        days = [(midnight(n), midnight(n + 1)) for n in range(-day.weekday(), 7 - day.weekday())]
        return days, days
    hours = [
        (midnight(0) + dt.timedelta(hours=h), midnight(0) + dt.timedelta(hours=h + 1))
        for h in HOURS
    ]
    return hours, [(midnight(0), midnight(1))] * len(hours)


def _rows(
    people: list[User], times: list[occupancy.Busy], columns: list[Span], days: list[Span]
) -> list[Row]:
    return [
        Row(
            p,
            [
                [
                    _chip(b, *bounds)
                    for b in times
                    if b.user_id == p.id and b.start < end and b.end > start
                ]
                for (start, end), bounds in zip(columns, days, strict=True)
            ],
        )
        for p in people
    ]


@page()
def occupancy_page(ctx: Ctx) -> Response:
    teams = _teams(ctx)
    team_id = ctx.query_id("team_id")
    if team_id is not None and team_id not in {t.id for t in teams}:
        team_id = None
    if team_id is None:
        team_id = _own_team(ctx, teams)
    week = ctx.query("view") == "week"
    day = _day(ctx)
    columns, days = _columns(day, week, zoneinfo.ZoneInfo(ctx.gw.settings.timezone))
    people = _people(ctx, team_id)
    times = occupancy.busy(ctx.db, ctx.me.id, [p.id for p in people], columns[0][0], columns[-1][1])
    step = dt.timedelta(days=7 if week else 1)
    return ctx.render(
        "occupancy/team.html",
        teams=teams,
        team_id=team_id,
        week=week,
        day=day,
        first=columns[0][0].date(),
        columns=[local_time(s) for s, _e in columns],
        rows=_rows(people, times, columns, days),
        previous=(day - step).isoformat(),
        following=(day + step).isoformat(),
    )


@page()
def free_slot(ctx: Ctx) -> Response:
    everyone = list(ctx.db.scalars(select(User).where(User.is_active).order_by(User.full_name)))
    chosen = [i for i in (parse_id(v) for v in ctx.request.query_params.getlist("user_id")) if i]
    errors: dict[str, str] = {}
    slots: list[tuple[dt.datetime, dt.datetime]] = []
    raw: dict[str, Any] = {
        "minutes": ctx.query("minutes") or "60",
        "day": ctx.query("day") or today().isoformat(),
        "days": ctx.query("days") or "5",
    }
    asked = "minutes" in ctx.request.query_params
    if asked:
        minutes = parse_id(raw["minutes"])
        days = parse_id(raw["days"])
        if not chosen:
            errors["user_id"] = _("Choose the people who must all be free.")
        if minutes is None or not 15 <= minutes <= 480:
            errors["minutes"] = _("A length from 15 to 480 minutes.")
        if days is None or not 1 <= days <= 31:
            errors["days"] = _("From 1 to 31 days.")
        try:
            start = parse_date(raw["day"])
        except ValueError:
            errors["day"] = _("Enter a date as dd.mm.yyyy.")
        if not errors and minutes is not None and days is not None:
            slots = occupancy.free_slots(
                ctx.db, chosen[:MAX_PEOPLE], start, days, minutes, ctx.gw.settings.timezone
            )
    return ctx.render(
        "occupancy/free_slot.html",
        everyone=everyone,
        chosen=set(chosen) or {ctx.me.id},
        raw=raw,
        errors=errors,
        slots=[(local_time(s), local_time(e)) for s, e in slots],
        asked=asked,
        status_code=422 if errors else 200,
    )


routes = [
    Route("/occupancy", occupancy_page, name="occupancy"),
    Route("/occupancy/free-slot", free_slot, name="free_slot"),
]
