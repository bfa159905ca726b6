"""Calendar pages: a month and a week of the user's own calendars and those shared
with them, and a form for a simple event in a calendar they may write.

The events, who sees which calendar and the iCalendar behind the form live in
:mod:`groupware.caldav.events`; this module reads the request and renders.

Calendar colours: the CSP forbids inline styles, so a colour is the fill of a small
inline SVG, which is an attribute and not a style.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import urllib.parse
from typing import Any

from babel import dates as babel_dates
from starlette.responses import Response
from starlette.routing import Route

from groupware import stream
from groupware.caldav import event_form, events, invitations, meetings, store
from groupware.caldav.event_form import KEEP, REPEAT_LABELS, EventIn
from groupware.caldav.events import DAY, SeenCalendar
from groupware.crm.models import Partner
from groupware.crm.partner360_web import Section
from groupware.errors import Invalid, NotFound
from groupware.i18n import _, _l, current_language, format_day_month, local_time, today
from groupware.stream import StreamAction, Target
from groupware.validation import parse_id
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("Calendar"), "calendar", order=70, icon="calendar")]
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 1900, 9000  # of the months and weeks one may page to


# -- the month and the week -----------------------------------------------------------


def _month_start(text: str) -> dt.date:
    match = MONTH.match(text)
    if match and 1 <= int(match.group(2)) <= 12 and FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        return dt.date(int(match.group(1)), int(match.group(2)), 1)
    return today().replace(day=1)


def _add_months(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _day(text: str) -> dt.date:
    """A day from the address (ISO), or today for none or a bad one."""
    try:
        day = dt.date.fromisoformat(text) if text else today()
    except ValueError:
        return today()
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else today()


def _day_in_view(first: dt.date, last: dt.date) -> dt.date:
    """The day a page showing ``first``..``last`` is about, as calendar apps choose it
    for "new event" and for switching to the week: today when the page shows today,
    else the first working day it shows."""
    if first <= today() <= last:
        return today()
    while first.weekday() >= 5 and first < last:
        first += DAY
    return first


def _next_full_hour() -> dt.datetime:
    """The next full hour of the company's clock (naive, as the form shows it), on
    today's date still: late in the evening, the last hour of the day."""
    now = local_time(dt.datetime.now(dt.UTC)).replace(tzinfo=None)
    hour = now.replace(minute=0, second=0, microsecond=0)
    return hour + dt.timedelta(hours=1) if hour.hour < 23 else hour


def _weekdays() -> list[str]:
    names = babel_dates.get_day_names("abbreviated", locale=current_language())
    return [names[i] for i in range(7)]


def _calendars(ctx: Ctx) -> list[SeenCalendar]:
    """The calendars the user sees, first making their own defaults if need be."""
    store.ensure_defaults(ctx.db, ctx.me)
    return events.calendars_for_user(ctx.db, ctx.acting)


@page()
def calendar(ctx: Ctx) -> Response:
    first = _month_start(ctx.query("month"))
    last = _add_months(first, 1) - DAY
    grid_first = first - dt.timedelta(days=first.weekday())
    grid_last = last + dt.timedelta(days=6 - last.weekday())
    calendars = _calendars(ctx)
    shown = events.events_between(ctx.db, calendars, grid_first, grid_last)
    days = [grid_first + i * DAY for i in range((grid_last - grid_first).days + 1)]
    weeks = [days[i : i + 7] for i in range(0, len(days), 7)]
    focus = _day_in_view(first, last)
    return ctx.render(
        "calendar/month.html",
        title=babel_dates.format_date(first, "LLLL y", locale=current_language()),
        weeks=[[(d, events.entries_on(shown, d)) for d in week] for week in weeks],
        month=first,
        weekdays=_weekdays(),
        calendar_legend=events.legend(calendars),
        today=today(),
        prev_url=f"/calendar?month={_add_months(first, -1):%Y-%m}",
        next_url=f"/calendar?month={_add_months(first, 1):%Y-%m}",
        week_url=f"/calendar/week?week={focus.isoformat()}",
        new_url=f"/calendar/new?date={focus.isoformat()}",
    )


@page()
def calendar_week(ctx: Ctx) -> Response:
    day = _day(ctx.query("week"))
    first = day - dt.timedelta(days=day.weekday())
    days = [first + i * DAY for i in range(7)]
    calendars = _calendars(ctx)
    shown = events.events_between(ctx.db, calendars, days[0], days[-1])
    by_day = [events.entries_on(shown, d) for d in days]
    # Today's month when the week holds today, else the month of most of the week.
    month = today() if days[0] <= today() <= days[-1] else days[3]
    timed = [[e for e in entries if e.label not in ("", "…")] for entries in by_day]
    hours_used = [e.event.start.hour for entries in timed for e in entries]
    hours = range(min([8, *hours_used]), max([18, *hours_used]) + 1)
    return ctx.render(
        "calendar/week.html",
        days=days,
        weekdays=_weekdays(),
        short_dates=[format_day_month(d) for d in days],
        all_day=[[e for e in entries if e.label in ("", "…")] for entries in by_day],
        hours=[(h, [[e for e in t if e.event.start.hour == h] for t in timed]) for h in hours],
        calendar_legend=events.legend(calendars),
        today=today(),
        prev_url=f"/calendar/week?week={(first - 7 * DAY).isoformat()}",
        next_url=f"/calendar/week?week={(first + 7 * DAY).isoformat()}",
        month_url=f"/calendar?month={month:%Y-%m}",
        new_url=f"/calendar/new?date={_day_in_view(first, days[-1]).isoformat()}",
    )


# -- one event ------------------------------------------------------------------------


FORM_LISTS = ("attendee_ids", "links")
KNOWN_FIELDS = {
    "title",
    "calendar_id",
    "start_date",
    "start_time",
    "end_date",
    "end_time",
    "repeat",
    "repeat_until",
    "location",
    "description",
    "partner_id",
    "deal_id",
    "attendee_ids",
}


def _form(
    ctx: Ctx,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    action: str,
    may_keep: bool = False,
    status: int = 200,
    invited_by: str = "",
    guests: bool = True,
    block: str = "event_form",
) -> Response:
    repeats = list(REPEAT_LABELS.items())
    if may_keep:
        repeats.append((KEEP, _l("As set in the calendar app")))
    shown = {k: v for k, v in errors.items() if k in KNOWN_FIELDS}
    rest = [str(v) for k, v in errors.items() if k not in KNOWN_FIELDS]
    if rest:
        shown[""] = " ".join(rest)
    about = _about(ctx, form)
    return ctx.render(
        "calendar/form.html",
        block=block,
        form=form,
        errors=shown,
        action=action,
        editing=action != "/calendar/new",
        calendar_options=event_form.calendar_options(_calendars(ctx)),
        repeat_options=repeats,
        invited_by=invited_by,
        guests=guests and not invited_by,
        back=form.get("back", "") if stream.page_of(str(form.get("back", ""))) else "",
        back_url=stream.page_of(str(form.get("back", ""))),
        partner_q=str(form.get("partner_q", ""))[:100],
        status_code=status,
        **about,
    )


def _about(ctx: Ctx, form: dict[str, Any]) -> dict[str, Any]:
    """What the form offers for the partner, the deal and the colleagues."""
    links = form.get("links") or []
    return meetings.form_choices(
        ctx.db,
        ctx.acting,
        ctx.me,
        partner_id=parse_id(str(form.get("partner_id") or "")),
        deal_id=parse_id(str(form.get("deal_id") or "")),
        links=[str(k) for k in (links if isinstance(links, list) else [links])],
        partner_q=str(form.get("partner_q", "")).strip(),
    )


def _after_save(ctx: Ctx, data: EventIn, message: str, back: str = "") -> Response:
    ctx.flash(message)
    return ctx.redirect(
        stream.page_of(back) or f"/calendar/week?week={data.start.date().isoformat()}"
    )


def _preset(ctx: Ctx) -> dict[str, Any]:
    """The partner, deal, other records and way back a quick action passes along."""
    links = [k for k in ctx.request.query_params.getlist("link") if stream.parse_key(k)]
    return {
        "partner_id": ctx.query_id("partner_id") or "",
        "deal_id": ctx.query_id("deal_id") or "",
        "links": links[:10],
        "attendee_ids": [],
        "back": ctx.query("back") if stream.page_of(ctx.query("back")) else "",
    }


@page()
def event_new(ctx: Ctx) -> Response:
    writable = [s for s in _calendars(ctx) if s.may_write and s.takes_events]
    if not writable:
        raise NotFound(_("None of your calendars takes events."))
    chosen = next((s for s in writable if s.calendar.kind == "personal" and not s.owner), None)
    day = _day(ctx.query("date"))
    # Today: the next full hour, not a morning already gone; another day: 9:00.
    start = _next_full_hour() if day == today() else dt.datetime.combine(day, dt.time(9, 0))
    end = start + dt.timedelta(hours=1)
    data = EventIn("", (chosen or writable[0]).id, False, start, end, "", "", "", None)
    form = {**event_form.form_values(data), **_preset(ctx)}
    if form["back"]:
        # A meeting ends on its day an hour after it starts, unless the form says else,
        # whichever day and time are chosen.
        form["end_date"] = form["end_time"] = ""
    return _form(ctx, form, {}, action="/calendar/new")


@page()
def event_about(ctx: Ctx) -> Response:
    """The form's partner, deal and links part, for the partner typed or chosen (an
    htmx fragment; a new event's form without htmx)."""
    form = {
        **_preset(ctx),
        "links": [k for k in ctx.request.query_params.getlist("links") if stream.parse_key(k)],
        "partner_q": ctx.query("partner_q"),
    }
    return _form(ctx, form, {}, action="/calendar/new", block="about")


@page()
def event_create(ctx: Ctx) -> Response:
    form = ctx.form_dict(checkboxes=("all_day",), lists=FORM_LISTS)
    try:
        data = event_form.read_form(form, may_keep=False)
        calendar = events.get_calendar_for_user(ctx.db, ctx.acting, data.calendar_id, write=True)
        planned = meetings.check(ctx.db, ctx.acting, ctx.me, data, calendar)
        people = meetings.people(ctx.db, ctx.me, planned.attendees)
        saved = event_form.create_event(ctx.db, calendar, data, people=people)
        meetings.relink(ctx.db, saved.row, planned.links, moved_from=saved.row.id)
        invitations.invite_changes(
            ctx.db, ctx.me, saved, planned, ctx.gw.settings, seen_changed=True
        )
    except Invalid as exc:
        return _form(ctx, form, exc.errors, action="/calendar/new", status=422)
    return _after_save(ctx, data, _("The event is saved."), str(form.get("back", "")))


@page()
def event_edit(ctx: Ctx) -> Response:
    calendar, row = events.get_event_for_user(
        ctx.db, ctx.acting, ctx.int_param("calendar_id"), ctx.param("href"), write=True
    )
    was = meetings.with_crm(ctx.db, row, event_form.stored_event(row))
    url = events.event_url(calendar.id, row.href)
    return _form(
        ctx,
        event_form.form_values(was),
        {},
        action=url,
        may_keep=was.repeat == KEEP,
        invited_by=meetings.organized_by_other(row, calendar.owner),
        guests=calendar.owner_id == ctx.me.id,
    )


@page()
def event_save(ctx: Ctx) -> Response:
    calendar, row = events.get_event_for_user(
        ctx.db, ctx.acting, ctx.int_param("calendar_id"), ctx.param("href"), write=True
    )
    was = event_form.stored_event(row)
    invited_by = meetings.organized_by_other(row, calendar.owner)
    form = ctx.form_dict(checkboxes=("all_day",), lists=FORM_LISTS)
    url = events.event_url(calendar.id, row.href)
    try:
        data = event_form.read_form(form, may_keep=was.repeat == KEEP)
        target = events.get_calendar_for_user(ctx.db, ctx.acting, data.calendar_id, write=True)
        # Guests are managed from one's own calendar, on one's own events (someone
        # else's invitation is its organizer's); a form without the guests' field (an
        # older page, a script) leaves them as they are.
        managed = (
            not invited_by
            and form.get("attendees_shown") == "1"
            and calendar.owner_id == ctx.me.id
            and target.owner_id == ctx.me.id
        )
        if not managed:
            data = dataclasses.replace(data, attendee_ids=())
        planned = meetings.check(ctx.db, ctx.acting, ctx.me, data, target)
        people = meetings.people(ctx.db, ctx.me, planned.attendees) if managed else None
        old_id = row.id
        saved = event_form.update_event(ctx.db, calendar, row, data, target=target, people=people)
        meetings.relink(ctx.db, saved.row, planned.links, moved_from=old_id)
        if managed:
            invitations.invite_changes(
                ctx.db, ctx.me, saved, planned, ctx.gw.settings, seen_changed=data.seen != was.seen
            )
    except Invalid as exc:
        return _form(
            ctx,
            form,
            exc.errors,
            action=url,
            may_keep=was.repeat == KEEP,
            status=422,
            invited_by=invited_by,
            guests=calendar.owner_id == ctx.me.id,
        )
    return _after_save(ctx, data, _("The event is saved."), str(form.get("back", "")))


@page()
def event_delete(ctx: Ctx) -> Response:
    calendar, row = events.get_event_for_user(
        ctx.db, ctx.acting, ctx.int_param("calendar_id"), ctx.param("href"), write=True
    )
    start = event_form.stored_event(row).start
    store.delete_item(ctx.db, calendar, row.href)
    ctx.flash(_("The event is deleted."))
    return ctx.redirect(f"/calendar/week?week={start.date().isoformat()}")


# -- meetings on record pages ----------------------------------------------------------


def _partner_meetings(ctx: Ctx, partner: Partner) -> dict[str, Any]:
    where = Target("partners", partner.id, partner)
    return {
        "meetings": meetings.upcoming(ctx.db, ctx.acting, where),
        "new_url": _meeting_url(where),
    }


PARTNER_SECTION = Section("meetings", "calendar/partner_section.html", _partner_meetings, order=15)


def _meeting_url(where: Target) -> str:
    """The event form for a meeting about ``where`` (its partner and deal chosen)."""
    params: list[tuple[str, Any]] = [
        (name, value)
        for name, value in (("partner_id", where.partner_id), ("deal_id", where.deal_id))
        if value is not None
    ]
    if where.record_type not in ("partners", "deals"):
        params.append(("link", where.key))
    params.append(("back", where.key))
    return "/calendar/new?" + urllib.parse.urlencode(params)


# A quick action of every record page with a stream.
NEW_MEETING = StreamAction(
    "meeting", _l("Schedule a meeting"), _meeting_url, icon="calendar-clock", order=30
)


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


EVENT = "/calendar/events/{calendar_id:int}/{href}"
routes = [
    Route("/calendar", calendar, name="calendar"),
    Route("/calendar/week", calendar_week, name="calendar_week"),
    Route("/calendar/new", event_new, name="calendar_event_new"),
    Route("/calendar/new/about", event_about, name="calendar_event_about"),
    _post("/calendar/new", event_create, "calendar_event_create"),
    Route(EVENT, event_edit, name="calendar_event"),
    _post(EVENT, event_save, "calendar_event_save"),
    _post(EVENT + "/delete", event_delete, "calendar_event_delete"),
]
