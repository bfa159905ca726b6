"""One activity stream per record: notes, logged calls, meetings, tasks, mail and changes
of a partner, a person, a deal, a task (and whatever later areas give a stream), in one
time-ordered list with filters by kind, read a page at a time.

Areas declare what they add (``Area.stream_sources``): a :class:`StreamSource` has a
kind ("note", "meeting", "mail"...) and a ``load`` that returns that kind's items of one
record the reader may see, in a :class:`Window` (older than a cursor, or newer than
one; at most ``limit``), newest first. :func:`read` asks every source that serves the
record's type and merges what they return. Which records have a stream is declared on
their record type (:attr:`groupware.records.RecordType.stream`). Quick actions of a
record's page ("log a call", "new task") are declared the same way
(``Area.stream_actions``, :class:`StreamAction`).

Paging stays exact across sources because every item sorts by the same key, (time,
kind, id), and every source answers in that order: the next page starts after the
last item shown (:class:`Cursor`), whichever source it came from. A source that drops
rows after reading them (a private meeting of someone else) reads on until it has
``limit`` items or none are left, so that no source falls behind the others.

The record itself is loaded through the access helpers before any source runs
(:func:`target`); a source only narrows further (a private message, a task the reader
may not see).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, true
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.access.policy import Who, get_for_user, record_models
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l
from groupware.records import record_url
from groupware.validation import MAX_ID

PAGE = 20
MAX_PAGE = 100
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICRO = dt.timedelta(microseconds=1)
_CURSOR = re.compile(r"^(-?[0-9]{1,18})\.([a-z_]{1,20})\.([0-9]{1,10})$")


def stream_types() -> tuple[str, ...]:
    """The record types whose records have a stream (their record type says so)."""
    return tuple(name for name, t in wiring.current().record_types.items() if t.stream)


# -- the record a stream is of -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The record a stream is of, loaded for the reader."""

    record_type: str
    record_id: int
    record: Any

    @property
    def partner_id(self) -> int | None:
        """The partner the record is, or belongs to (a deal's, a person's), if any."""
        if self.record_type == "partners":
            return self.record_id
        value = getattr(self.record, "partner_id", None)
        return int(value) if value is not None else None

    @property
    def deal_id(self) -> int | None:
        if self.record_type == "deals":
            return self.record_id
        value = getattr(self.record, "deal_id", None)
        return int(value) if value is not None else None

    @property
    def key(self) -> str:
        """``partners:12``, as forms pass a record along."""
        return f"{self.record_type}:{self.record_id}"


def target(
    session: Session, who: Who, record_type: str, record_id: int, action: str = "view"
) -> Target:
    """The record of type ``record_type`` the reader may ``action``: 404 when there is
    no such record, they may not see it, or records of its type have no stream."""
    model = record_models().get(record_type)
    record = get_for_user(session, who, model, record_id, action) if model is not None else None
    if record is None or record_type not in stream_types():
        raise NotFound(_l("There is no such record, or you may not see it."))
    return Target(record_type, record_id, record)


def parse_key(text: str) -> tuple[str, int] | None:
    """``("partners", 12)`` from ``partners:12``; None for anything else."""
    name, _sep, ident = text.strip().partition(":")
    if not re.fullmatch(r"[a-z_]{1,64}", name) or not re.fullmatch(r"[0-9]{1,10}", ident):
        return None
    return (name, int(ident)) if int(ident) <= MAX_ID else None


def page_of(key: str) -> str:
    """The page of the record ``partners:12`` names (where a quick action's form goes
    back to), or "" for anything else: never an address a request made up."""
    parsed = parse_key(key)
    return record_url(*parsed) if parsed is not None else ""


# -- items, cursors and windows ---------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: items sort newest first by (at, kind, ident)."""

    at: dt.datetime
    kind: str
    ident: int

    def text(self) -> str:
        return f"{micros(self.at)}.{self.kind}.{self.ident}"

    @classmethod
    def parse(cls, text: str, field: str = "before") -> Cursor:
        match = _CURSOR.match(text.strip())
        if match is None:
            raise Invalid({field: _l("This cursor is not valid.")})
        try:
            at = EPOCH + int(match.group(1)) * _MICRO
        except OverflowError:
            at = None
        if at is None or int(match.group(3)) > MAX_ID:
            raise Invalid({field: _l("This cursor is not valid.")})
        return cls(at, match.group(2), int(match.group(3)))


@dataclass(frozen=True)
class Change:
    """One field of a change shown with an item (``old`` and ``new`` are HTML)."""

    label: str
    old: Any
    new: Any


@dataclass(frozen=True)
class StreamItem:
    """One entry of a stream. ``title`` may be markup (a change's sentence with its
    links); ``facts`` are short words shown beside it ("outgoing", "15 min");
    ``delete`` is the address that removes it, for those who may."""

    at: dt.datetime
    kind: str
    ident: int
    title: Any
    text: str = ""
    author: str = ""
    link: str = ""
    facts: tuple[str, ...] = ()
    changes: tuple[Change, ...] = ()
    delete: str = ""

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.kind, self.ident)

    @property
    def order(self) -> tuple[dt.datetime, str, int]:
        return (self.at, self.kind, self.ident)


@dataclass(frozen=True)
class Window:
    """Which items of a source a page wants: older than ``before`` or newer than
    ``after`` (neither: the newest), at most ``limit``."""

    limit: int = PAGE
    before: Cursor | None = None
    after: Cursor | None = None

    def clause(
        self,
        kind: str,
        at: Any,
        ident: Any,
        value: Callable[[dt.datetime], Any] = lambda moment: moment,
    ) -> ColumnElement[bool]:
        """The SQL condition for a source's rows of ``kind`` whose time is ``at`` and id
        ``ident``: in the window by the items' order. ``value`` gives a cursor's time as
        ``at`` holds it (see :func:`micros`)."""
        conditions = []
        if self.before is not None:
            conditions.append(_beyond(self.before, kind, at, ident, value, older=True))
        if self.after is not None:
            conditions.append(_beyond(self.after, kind, at, ident, value, older=False))
        return and_(*conditions) if conditions else true()

    def admits(self, item: StreamItem) -> bool:
        """Whether ``item`` is in the window (for what a source filters in Python)."""
        if self.before is not None and not item.order < _order(self.before):
            return False
        return not (self.after is not None and not item.order > _order(self.after))

    @property
    def newest_first(self) -> bool:
        """False when the window reads forward (newer than ``after`` without a
        ``before``): the source must then take the oldest ``limit`` items after the
        cursor, not the newest."""
        return self.after is None or self.before is not None


def _order(cursor: Cursor) -> tuple[dt.datetime, str, int]:
    return (cursor.at, cursor.kind, cursor.ident)


def micros(moment: dt.datetime) -> int:
    """A time as whole microseconds since 1970: how a source whose times are Unix
    seconds compares them with a cursor (``seconds * 1000000``), exactly."""
    return (moment - EPOCH) // _MICRO


def _beyond(
    cursor: Cursor,
    kind: str,
    at: Any,
    ident: Any,
    value: Callable[[dt.datetime], Any],
    *,
    older: bool,
) -> Any:
    """Rows of ``kind`` before (``older``) or after ``cursor`` in the order (at, kind,
    ident): the kind is the source's own, so it compares in Python."""
    when = value(cursor.at)
    if kind == cursor.kind:
        if older:
            return or_(at < when, and_(at == when, ident < cursor.ident))
        return or_(at > when, and_(at == when, ident > cursor.ident))
    if (kind < cursor.kind) == older:
        return at <= when
    return at < when if older else at > when


def ordered(window: Window, at: Any, ident: Any) -> tuple[Any, Any]:
    """The ORDER BY of a source's query for ``window``."""
    if window.newest_first:
        return at.desc(), ident.desc()
    return at.asc(), ident.asc()


# -- sources and actions, as areas declare them -----------------------------------------

Loader = Callable[[Session, Who, Target, Window], list[StreamItem]]


def every_type(_record_type: str) -> bool:
    return True


@dataclass(frozen=True)
class StreamSource:
    """One kind of entry: ``label`` names it in the filters ("Calls"), ``item_label``
    on each entry ("call"); ``serves`` says which record types it has entries for;
    ``load`` reads them (see the module docstring)."""

    kind: str
    label: Any
    item_label: Any
    load: Loader
    serves: Callable[[str], bool] = every_type
    order: int = 100


@dataclass(frozen=True)
class StreamAction:
    """A quick action of a record's page: ``url`` is its form, loaded into the page
    (``inline``) or followed as a link; shown for the record types it ``serves`` to
    those it is ``allowed`` for, with its ``icon`` of the sprite (``ui.icon``)."""

    name: str
    label: Any
    url: Callable[[Target], str]
    icon: str = ""
    serves: Callable[[str], bool] = every_type
    allowed: Callable[[Who, Target], bool] = lambda _who, _target: True
    inline: bool = True
    order: int = 100


def sources(record_type: str) -> list[StreamSource]:
    """The sources with entries for records of ``record_type``, in filter order."""
    found = [s for s in wiring.current().stream_sources if s.serves(record_type)]
    return sorted(found, key=lambda s: s.order)


def actions(who: Who, where: Target) -> list[StreamAction]:
    found = [
        a
        for a in wiring.current().stream_actions
        if a.serves(where.record_type) and a.allowed(who, where)
    ]
    return sorted(found, key=lambda a: a.order)


# -- reading a stream ---------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One page of a stream, newest first; ``next`` continues with older items."""

    items: list[StreamItem]
    next: Cursor | None


def kinds_of(record_type: str, wanted: Iterable[str] = ()) -> list[str]:
    """The kinds a filter asks for that records of ``record_type`` have (all of them
    when it asks for none or only for unknown ones)."""
    known = [s.kind for s in sources(record_type)]
    chosen = [k for k in known if k in set(wanted)]
    return chosen or known


def read(
    session: Session,
    who: Who,
    where: Target,
    *,
    kinds: Sequence[str] = (),
    window: Window = Window(),
) -> Page:
    """The page of ``where``'s stream in ``window``: the items of the chosen ``kinds``
    (all when none), newest first."""
    limit = max(1, min(window.limit, MAX_PAGE))
    ask = dataclasses.replace(window, limit=limit + 1)
    chosen = set(kinds_of(where.record_type, kinds))
    found: list[StreamItem] = []
    for source in sources(where.record_type):
        if source.kind in chosen:
            found.extend(item for item in source.load(session, who, where, ask))
    found = [item for item in found if ask.admits(item)]
    if ask.newest_first:
        found.sort(key=lambda item: item.order, reverse=True)
        page = found[:limit]
        return Page(page, page[-1].cursor if len(found) > limit else None)
    # Newer than a cursor: the oldest ``limit`` of them, shown newest first.
    found.sort(key=lambda item: item.order)
    page = found[:limit]
    return Page(list(reversed(page)), None)


def keep_reading(
    rows: Callable[[Window], list[tuple[Cursor, StreamItem | None]]], window: Window
) -> list[StreamItem]:
    """For a source that drops rows after reading them: ``rows`` reads a window's rows
    as (their cursor, their item or None when dropped); read on past the last row until
    ``window.limit`` items are kept or no rows are left, so that the source does not
    fall behind the others (see the module docstring)."""
    kept: list[StreamItem] = []
    current = window
    while True:
        got = rows(current)
        kept.extend(item for _cursor, item in got if item is not None)
        if len(kept) >= window.limit or len(got) < current.limit:
            return kept[: window.limit]
        last = got[-1][0]
        if window.newest_first:
            current = dataclasses.replace(current, before=last)
        else:
            current = dataclasses.replace(current, after=last)
