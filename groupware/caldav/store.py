"""Calendars and items: the one module that writes them.

The Radicale storage plugin (:mod:`groupware.caldav.storage`) and CRM code that puts
tasks and deadlines into calendars both write through here, so every write yields
valid iCalendar, a new etag and a new sync revision, and clients see it on their next
sync. Items arrive as Radicale :class:`~radicale.item.Item` objects, which parse and
check the iCalendar text and work out its UID, component and time range once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from radicale import item as radicale_item
from radicale.item import filter as radicale_filter
from sqlalchemy import Table, and_, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.accounts.models import User
from groupware.caldav.models import (
    COMPONENTS,
    FOREVER,
    HORIZON_YEARS,
    OCCURRENCES_KEPT,
    Calendar,
    CalendarItem,
    CalendarOccurrence,
)
from groupware.db import Database, copy_rows, sqlite_value, utcnow
from groupware.errors import Invalid, NotFound
from groupware.i18n import _, use_language
from groupware.jobs import Job

PERSONAL_SLUG = "calendar"
TASKS_SLUG = "tasks"
SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}$")
MAX_OCCURRENCES = 10_000  # of one RRULE, as Radicale checks them
HREF = re.compile(r"^[^/\\]{1,255}$")

# WebDAV properties with a column of their own; every other one lands in ``props``.
NAME_PROP = "D:displayname"
COLOR_PROP = "ICAL:calendar-color"
DESCRIPTION_PROP = "C:calendar-description"
COMPONENTS_PROP = "C:supported-calendar-component-set"


# What CRM records put into calendars: the item's ``source`` is "<prefix>:<id>"; when a
# client changes such an item, the handler an area declares for the prefix
# (``Area.calendar_sources``) applies the change to the record (a completed VTODO
# completes its task).
SourceHandler = Callable[[Session, str, radicale_item.Item, Calendar], None]


@dataclass(frozen=True)
class Limits:
    """What one user may store (see the settings ``dav_max_item_kb`` and
    ``dav_max_calendars``)."""

    max_item_bytes: int = 1024 * 1024
    max_calendars: int = 50


def calendars_of(session: Session, owner_id: int) -> list[Calendar]:
    query = select(Calendar).where(Calendar.owner_id == owner_id).order_by(Calendar.id)
    return list(session.scalars(query))


def shared_with(session: Session, user_id: int) -> list[tuple[Calendar, str]]:
    """Calendars of others shared with ``user_id`` or one of their teams, each with its
    owner's user name (its path is ``<owner>/<slug>``)."""
    from groupware.access.models import Share
    from groupware.accounts.models import TeamMember

    teams = select(TeamMember.team_id).where(TeamMember.user_id == user_id)
    shared = select(Share.record_id).where(
        Share.record_type == "calendars",
        or_(Share.user_id == user_id, Share.team_id.in_(teams)),
    )
    query = (
        select(Calendar, User.username)
        .join(User, User.id == Calendar.owner_id)
        .where(Calendar.id.in_(shared), Calendar.owner_id != user_id, User.is_active)
        .order_by(User.username, Calendar.slug)
    )
    return [(calendar, username) for calendar, username in session.execute(query)]


def calendar_by_slug(session: Session, owner_id: int, slug: str) -> Calendar | None:
    query = select(Calendar).where(Calendar.owner_id == owner_id, Calendar.slug == slug)
    return session.scalar(query)


def ensure_defaults(session: Session, user: User) -> list[Calendar]:
    """The user's calendars, first making their personal calendar and CRM task list
    (named in the user's language) if they have none of that kind."""
    have = calendars_of(session, user.id)
    kinds = {c.kind for c in have}
    with use_language(user.language):
        wanted = [
            ("personal", PERSONAL_SLUG, _("Calendar"), "VEVENT,VTODO"),
            ("tasks", TASKS_SLUG, _("CRM tasks"), "VTODO"),
        ]
    slugs = {c.slug for c in have}
    for kind, slug, name, components in wanted:
        if kind in kinds:
            continue
        if slug in slugs:  # a client already made a calendar of that name
            slug = f"{slug}-{kind}"
        calendar = Calendar(
            owner_id=user.id, slug=slug, name=name, kind=kind, components=components
        )
        session.add(calendar)
        have.append(calendar)
    session.flush()
    return have


def create_calendar(
    session: Session,
    owner_id: int,
    slug: str,
    props: Mapping[str, str] | None = None,
    *,
    limits: Limits = Limits(),
) -> Calendar:
    if not SLUG.match(slug):
        raise Invalid(
            {"slug": _("A calendar's name in its address may use letters, digits and . _ @ + -.")}
        )
    if calendar_by_slug(session, owner_id, slug) is not None:
        raise Invalid({"slug": _("There is already a calendar at this address.")})
    if len(calendars_of(session, owner_id)) >= limits.max_calendars:
        raise Invalid(
            {"slug": _("You may have at most %(num)d calendars.", num=limits.max_calendars)}
        )
    calendar = Calendar(owner_id=owner_id, slug=slug, name=slug, props={})
    session.add(calendar)
    set_meta(calendar, props or {})
    session.flush()
    return calendar


def meta(calendar: Calendar) -> dict[str, str]:
    """The calendar's WebDAV properties, as Radicale names them."""
    found = dict(calendar.props or {})
    found["tag"] = "VCALENDAR"
    found[NAME_PROP] = calendar.name
    found[COMPONENTS_PROP] = calendar.components
    if calendar.color:
        found[COLOR_PROP] = calendar.color
    if calendar.description:
        found[DESCRIPTION_PROP] = calendar.description
    return found


def set_meta(calendar: Calendar, props: Mapping[str, str]) -> None:
    """Replace the calendar's properties (Radicale hands over the whole set)."""
    rest = {k: str(v) for k, v in props.items() if k not in _COLUMN_PROPS and k != "tag"}
    calendar.name = (props.get(NAME_PROP) or calendar.slug)[:200]
    calendar.color = (props.get(COLOR_PROP) or None) and props[COLOR_PROP][:20]
    calendar.description = props.get(DESCRIPTION_PROP) or None
    components = props.get(COMPONENTS_PROP) or calendar.components or "VEVENT,VTODO"
    names = [c for c in components.split(",") if c in COMPONENTS]
    calendar.components = ",".join(names) or "VEVENT,VTODO"
    calendar.props = rest


_ITEMS = cast(Table, CalendarItem.__table__)  # for statements over many rows

_COLUMN_PROPS = frozenset({NAME_PROP, COLOR_PROP, DESCRIPTION_PROP, COMPONENTS_PROP})


def _next_revision(session: Session, calendar: Calendar) -> int:
    """Count one change of ``calendar``; concurrent writers each get their own number
    (the row is locked until the transaction ends)."""
    revision = session.execute(
        update(Calendar)
        .where(Calendar.id == calendar.id)
        .values(revision=Calendar.revision + 1, updated_at=dt.datetime.now(dt.UTC))
        .returning(Calendar.revision)
    ).scalar_one()
    calendar.revision = int(revision)
    return int(revision)


def check_href(href: str) -> None:
    if not HREF.match(href) or href in (".", ".."):
        raise Invalid({"href": _("This is not a valid name for a calendar item.")})


class ItemTooLarge(Invalid):
    """An item over :attr:`Limits.max_item_bytes` (CalDAV's ``max-resource-size``)."""


@dataclass(frozen=True)
class Prepared:
    """An item checked and indexed, ready to be written: everything the database needs
    of it, worked out before any transaction begins (parsing and expanding a rule take
    longer than writing the row)."""

    href: str
    item: radicale_item.Item
    uid: str
    component: str
    etag: str
    ics: str
    starts: int
    ends: int
    recurring: bool
    known_until: int
    occurrences: tuple[tuple[int, int], ...]

    @property
    def size(self) -> int:
        return len(self.ics)


def too_large_message(limits: Limits) -> str:
    return _("A calendar item may be at most %(num)d KB.", num=limits.max_item_bytes // 1024)


def prepare_item(href: str, item: radicale_item.Item, *, limits: Limits = Limits()) -> Prepared:
    """Check ``item`` (its name, size and kind) and work out its time range and, when it
    recurs, its occurrences; no database work."""
    check_href(href)
    text = item.serialize()
    if len(text.encode()) > limits.max_item_bytes:
        raise ItemTooLarge({"ics": too_large_message(limits)})
    component = item.component_name
    if component not in COMPONENTS:
        raise Invalid({"ics": _("Only events, to-dos and journal entries can be stored.")})
    starts, ends = item.time_range
    recurring, known_until, occurrences = _occurrences_of(item, component)
    return Prepared(
        href=href,
        item=item,
        uid=item.uid[:255],
        component=component,
        etag=item.etag,
        ics=text,
        starts=max(int(starts), -FOREVER),
        ends=min(int(ends), FOREVER),
        recurring=recurring,
        known_until=known_until,
        occurrences=occurrences,
    )


def put_item(
    session: Session,
    calendar: Calendar,
    href: str,
    item: radicale_item.Item,
    *,
    source: str | None = None,
    limits: Limits = Limits(),
) -> CalendarItem:
    """Store ``item`` at ``href`` (new or replacing what was there)."""
    prepared = prepare_item(href, item, limits=limits)
    revision = _next_revision(session, calendar)
    row = session.scalar(
        select(CalendarItem).where(
            CalendarItem.calendar_id == calendar.id, CalendarItem.href == href
        )
    )
    if row is None:
        row = CalendarItem(calendar_id=calendar.id, href=href)
        session.add(row)
    from_record = row.source if source is None and row.ics is not None else None
    row.uid = prepared.uid
    row.component = prepared.component
    row.etag = prepared.etag
    row.ics = prepared.ics
    row.starts = prepared.starts
    row.ends = prepared.ends
    row.revision = revision
    row.recurring = prepared.recurring
    row.known_until = prepared.known_until
    if source is not None:
        row.source = source
    session.flush()
    session.execute(delete(CalendarOccurrence).where(CalendarOccurrence.item_id == row.id))
    _add_occurrences(session, [(row.id, prepared)])
    if from_record:  # a client changed what a CRM record put here
        prefix, _sep, ident = from_record.partition(":")
        handler = wiring.current().calendar_sources.get(prefix)
        if handler is not None:
            handler(session, ident, item, calendar)
    return row


def item_by_source(session: Session, source: str) -> list[CalendarItem]:
    """The live items a CRM record put into calendars."""
    query = select(CalendarItem).where(CalendarItem.source == source, CalendarItem.ics.is_not(None))
    return list(session.scalars(query))


def _occurrences_of(
    item: radicale_item.Item, component: str
) -> tuple[bool, int, tuple[tuple[int, int], ...]]:
    """Whether the item recurs, how far its list of occurrences is complete, and the
    list (see :mod:`groupware.caldav.models`)."""
    recurring = any(
        "rrule" in child.contents or "rdate" in child.contents
        for child in item.vobject_item.getChildren()
        if child.name == component
    )
    if not recurring:
        return False, FOREVER, ()
    horizon = dt.datetime.now(dt.UTC) + dt.timedelta(days=365 * HORIZON_YEARS)
    found: list[tuple[int, int]] = []
    cut: list[int] = []

    def occurrence(start: dt.datetime, end: dt.datetime, _is_recurrence: bool) -> bool:
        if len(found) >= OCCURRENCES_KEPT or start > horizon:
            cut.append(int(start.timestamp()))
            return True  # stop: what lies beyond is left to Radicale's own check
        found.append((int(start.timestamp()), int(end.timestamp()) + (end == start)))
        return False

    def endless(_start: dt.datetime) -> bool:
        return False  # go on, occurrence() stops at the horizon

    radicale_filter.visit_time_ranges(item.vobject_item, component, occurrence, endless)
    return True, (cut[0] if cut else FOREVER), tuple(found)


def _add_occurrences(session: Session, items: Iterable[tuple[int, Prepared]]) -> None:
    rows = [
        {"item_id": item_id, "starts": s, "ends": e}
        for item_id, prepared in items
        for s, e in prepared.occurrences
    ]
    if rows:
        session.execute(insert(CalendarOccurrence), rows)


def delete_item(session: Session, calendar: Calendar, href: str) -> None:
    """Delete the item at ``href``, leaving a tombstone for syncing clients."""
    row = session.scalar(
        select(CalendarItem).where(
            CalendarItem.calendar_id == calendar.id,
            CalendarItem.href == href,
            CalendarItem.ics.is_not(None),
        )
    )
    if row is None:
        raise NotFound(_("There is no such calendar item."))
    row.revision = _next_revision(session, calendar)
    row.ics = None
    row.etag = ""
    row.recurring = False
    session.execute(delete(CalendarOccurrence).where(CalendarOccurrence.item_id == row.id))
    session.flush()


# -- many items at once (a whole-calendar upload) ---------------------------------------


def put_many(session: Session, calendar: Calendar, prepared: Sequence[Prepared]) -> None:
    """Store many prepared items in one statement per kind of change: one revision for
    them all, new rows inserted and existing ones updated by executemany, their
    occurrence lists replaced in bulk. Items a CRM record put here go one by one through
    :func:`put_item`, so that the record hears of the change."""
    if not prepared:
        return
    table = _ITEMS
    found = {
        href: (item_id, source, live)
        for item_id, href, source, live in session.execute(
            select(table.c.id, table.c.href, table.c.source, table.c.ics.is_not(None)).where(
                table.c.calendar_id == calendar.id,
                table.c.href.in_([p.href for p in prepared]),
            )
        )
    }
    # Items a CRM record put here (a task's to-do) that the upload replaces.
    from_records = {h for h, (_id, source, live) in found.items() if source and live}
    plain = [p for p in prepared if p.href not in from_records]
    revision = _next_revision(session, calendar)
    now = dt.datetime.now(dt.UTC)
    values = [
        {
            "uid": p.uid, "component": p.component, "etag": p.etag, "ics": p.ics,
            "starts": p.starts, "ends": p.ends, "revision": revision,
            "recurring": p.recurring, "known_until": p.known_until, "updated_at": now,
        }
        for p in plain
    ]  # fmt: skip
    new = [
        {**v, "calendar_id": calendar.id, "href": p.href}
        for p, v in zip(plain, values, strict=True)
        if p.href not in found
    ]
    changed = [
        {**{f"new_{k}": x for k, x in v.items()}, "row_id": found[p.href][0]}
        for p, v in zip(plain, values, strict=True)
        if p.href in found
    ]
    if new:
        session.execute(insert(table), new)
    if changed:  # bound as new_<column>: a bind may not share its column's name
        session.execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({k: bindparam(f"new_{k}") for k in values[0]}),
            changed,
        )
        old = [c["row_id"] for c in changed]
        session.execute(delete(CalendarOccurrence).where(CalendarOccurrence.item_id.in_(old)))
    recurring = [p for p in plain if p.recurring]
    if recurring:
        query = select(table.c.href, table.c.id).where(
            table.c.calendar_id == calendar.id,
            table.c.href.in_([p.href for p in recurring]),
        )
        ids = {href: item_id for href, item_id in session.execute(query)}
        _add_occurrences(session, [(ids[p.href], p) for p in recurring])
    for p in prepared:
        if p.href in from_records:
            put_item(session, calendar, p.href, p.item)


class NewItem(NamedTuple):
    """An item a CRM record puts into a calendar, written as text with its time range
    (:mod:`groupware.caldav.ics`), for :func:`insert_items` (a tuple: a bulk writer
    makes hundreds of thousands)."""

    href: str
    uid: str
    ics: str
    starts: int
    ends: int
    source: str


def insert_items(
    session: Session, calendar_ids: Collection[int], items: Iterable[tuple[int, NewItem]]
) -> None:
    """Add many new to-dos a CRM writer made (a campaign's rollout) to the calendars of
    ``calendar_ids`` in one go: one revision per calendar for them all, no parsing (their
    text and range are ours), rows written by ``COPY`` as ``items`` (calendar id, item)
    are made. Their hrefs must be new to their calendars."""
    if not calendar_ids:
        return
    revisions = dict(
        session.execute(
            update(Calendar)
            .where(Calendar.id.in_(sorted(calendar_ids)))
            .values(revision=Calendar.revision + 1, updated_at=dt.datetime.now(dt.UTC))
            .returning(Calendar.id, Calendar.revision)
        ).all()
    )
    now: Any = dt.datetime.now(dt.UTC)
    if session.get_bind().dialect.name == "sqlite":
        now = sqlite_value(now)
    columns = ("calendar_id", "href", "uid", "component", "etag", "ics", "starts", "ends",
               "revision", "recurring", "known_until", "source", "updated_at")  # fmt: skip
    etag = radicale_item.get_etag
    rows = (
        (calendar_id, i.href, i.uid[:255], "VTODO", etag(i.ics), i.ics, i.starts, i.ends,
         revisions[calendar_id], False, FOREVER, i.source, now)
        for calendar_id, i in items
    )  # fmt: skip
    copy_rows(session, "calendar_items", columns, rows)


def hrefs_by_uid(session: Session, username: str, slug: str) -> dict[str, str]:
    """The names of the items of ``username``'s calendar ``slug``, by UID."""
    query = (
        select(CalendarItem.uid, CalendarItem.href)
        .join(Calendar, Calendar.id == CalendarItem.calendar_id)
        .join(User, User.id == Calendar.owner_id)
        .where(User.username == username, Calendar.slug == slug, CalendarItem.ics.is_not(None))
    )
    return {uid: href for uid, href in session.execute(query)}


def live_hrefs(session: Session, calendar_id: int) -> set[str]:
    query = select(CalendarItem.href).where(
        CalendarItem.calendar_id == calendar_id, CalendarItem.ics.is_not(None)
    )
    return set(session.scalars(query))


def delete_many(session: Session, calendar: Calendar, hrefs: Sequence[str]) -> None:
    """Delete the items at ``hrefs`` (those still there), leaving tombstones: one
    revision and one statement for them all."""
    table = _ITEMS
    ids = list(
        session.scalars(
            select(table.c.id).where(
                table.c.calendar_id == calendar.id,
                table.c.href.in_(list(hrefs)),
                table.c.ics.is_not(None),
            )
        )
    )
    if not ids:
        return
    revision = _next_revision(session, calendar)
    session.execute(
        update(table)
        .where(table.c.id.in_(ids))
        .values(
            ics=None, etag="", recurring=False, revision=revision,
            updated_at=dt.datetime.now(dt.UTC),
        )
    )  # fmt: skip
    session.execute(delete(CalendarOccurrence).where(CalendarOccurrence.item_id.in_(ids)))


def delete_calendar(session: Session, calendar: Calendar) -> None:
    session.delete(calendar)
    session.flush()


def live_items(
    session: Session,
    calendar_id: int,
    *,
    hrefs: Sequence[str] | None = None,
    component: str | None = None,
    start: int | None = None,
    end: int | None = None,
) -> list[CalendarItem]:
    """Items that exist (no tombstones), optionally only those named, of a component,
    or whose time range meets ``[start, end)``: read from the range index."""
    conditions = [CalendarItem.calendar_id == calendar_id, CalendarItem.ics.is_not(None)]
    if hrefs is not None:
        conditions.append(CalendarItem.href.in_(list(hrefs)))
    if component is not None:
        conditions.append(CalendarItem.component == component)
    if start is not None and end is not None:
        conditions.append(and_(CalendarItem.starts < end, CalendarItem.ends > start))
    query = select(CalendarItem).where(*conditions).order_by(CalendarItem.href)
    return list(session.scalars(query))


def in_range(
    session: Session, calendar_id: int, component: str | None, start: int, end: int
) -> list[tuple[CalendarItem, bool | None]]:
    """Items whose time meets ``[start, end)``, each with whether it certainly does:
    True for a recurring item with an occurrence in the range, None when that lies
    beyond what its occurrence list covers (or the item does not recur: the caller
    decides from its time range). Recurring items that certainly miss are left out."""
    hit = exists(
        select(CalendarOccurrence.id).where(
            CalendarOccurrence.item_id == CalendarItem.id,
            CalendarOccurrence.starts < end,
            CalendarOccurrence.ends > start,
        )
    )
    conditions = [
        CalendarItem.calendar_id == calendar_id,
        CalendarItem.ics.is_not(None),
        CalendarItem.starts < end,
        CalendarItem.ends > start,
    ]
    if component is not None:
        conditions.append(CalendarItem.component == component)
    query = select(CalendarItem, hit.label("hit")).where(*conditions).order_by(CalendarItem.href)
    found: list[tuple[CalendarItem, bool | None]] = []
    for row, occurs in session.execute(query):
        if not row.recurring:
            found.append((row, None))
        elif occurs:
            found.append((row, True))
        elif end > row.known_until:
            found.append((row, None))  # beyond the list: Radicale parses it
    return found


def changed_since(session: Session, calendar: Calendar, revision: int) -> list[str]:
    """Hrefs changed or deleted after ``revision``; a revision older than what the
    tombstones reach back to is refused (the client must sync anew)."""
    if revision < calendar.oldest_revision or revision > calendar.revision:
        raise ValueError(f"sync revision {revision} is not known")
    query = (
        select(CalendarItem.href)
        .where(CalendarItem.calendar_id == calendar.id, CalendarItem.revision > revision)
        .order_by(CalendarItem.revision)
    )
    return list(session.scalars(query))


def prune_tombstones(session: Session, calendar: Calendar, older_than: dt.datetime) -> int:
    """Forget deletions older than ``older_than``; tokens from before them go stale."""
    rows = list(
        session.scalars(
            select(CalendarItem).where(
                CalendarItem.calendar_id == calendar.id,
                CalendarItem.ics.is_(None),
                CalendarItem.updated_at < older_than,
            )
        )
    )
    if rows:
        calendar.oldest_revision = max(calendar.oldest_revision, max(r.revision for r in rows))
        for row in rows:
            session.delete(row)
        session.flush()
    return len(rows)


def parse_items(text: str) -> list[radicale_item.Item]:
    """One or more iCalendar objects from ``text``, checked as Radicale checks a PUT
    (one UID per object, components it knows); a clear error otherwise."""
    try:
        components = radicale_item.read_components(text)
        radicale_item.check_and_sanitize_items(
            components, MAX_OCCURRENCES, is_collection=True, tag="VCALENDAR"
        )
    except Exception as exc:
        raise Invalid(
            {"ics": _("This is not valid iCalendar: %(reason)s", reason=str(exc))}
        ) from exc
    items = []
    for component in components:
        for sub in _split_by_uid(component):
            items.append(radicale_item.Item(collection_path="x", vobject_item=sub))
    return items


def _split_by_uid(calendar: object) -> Iterable[object]:
    """A VCALENDAR as one object per UID (a PUT holds one; an import may hold many)."""
    import vobject  # type: ignore[import-untyped]

    by_uid: dict[str, list[object]] = {}
    zones = []
    for child in calendar.getChildren():  # type: ignore[attr-defined]
        if child.name == "VTIMEZONE":
            zones.append(child)
        elif child.name in COMPONENTS:
            by_uid.setdefault(child.uid.value if hasattr(child, "uid") else "", []).append(child)
    for children in by_uid.values():
        out = vobject.iCalendar()
        for zone in zones:
            out.add(zone)
        for child in children:
            out.add(child)
        yield out


TOMBSTONE_DAYS = 90  # how long a deletion is remembered for clients that sync


def _prune_tombstones_job(session: Session, database: Database) -> int:
    """Forget deletions older than :data:`TOMBSTONE_DAYS` in every calendar: a client
    that has not synced since then syncs the calendar anew."""
    cutoff = utcnow() - dt.timedelta(days=TOMBSTONE_DAYS)
    stale = select(CalendarItem.calendar_id).where(
        CalendarItem.ics.is_(None), CalendarItem.updated_at < cutoff
    )
    calendars = session.scalars(select(Calendar).where(Calendar.id.in_(stale)))
    return sum(prune_tombstones(session, calendar, cutoff) for calendar in calendars)


PRUNE_TOMBSTONES_JOB = Job(
    "prune-tombstones", _prune_tombstones_job, "Forget calendar deletions after 90 days."
)
