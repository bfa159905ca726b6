"""What the areas add to the product, read from the one list of areas.

Each area (accounts, crm, deals, mail...) declares in its ``area.py`` one :class:`Area`:
its models, pages, API, navigation, jobs, alert sources, calendar sources, partner page
sections, stream sources and quick actions, merge links, mail filing kinds, record
types, dashboard widgets, the list pages people shape (and bulk actions added to
another area's list), what the header's search looks through and what its "+" menu
creates.
``groupware.areas`` lists the areas in order, and whatever starts the product (the app, the CLI, the
migrations, a benchmark, the tests) calls ``groupware.areas.install()`` once, which
gathers them here. Readers (the job runner, the alert job, the partner page, the
OpenAPI document...) take their collection from :func:`current`; nothing is added to
anything as a side effect of importing a module.

This module imports no area: the declarations import their own code, and only
``groupware.areas`` imports the declarations.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from groupware.access.policy import Module
    from groupware.api import Api
    from groupware.caldav.store import SourceHandler
    from groupware.crm.merge import MergeLink
    from groupware.crm.partner360_web import Section
    from groupware.dashboard import Widget
    from groupware.jobs import Job
    from groupware.lists.declare import BulkAction, ListDef
    from groupware.mail.filing import FilingKind
    from groupware.phases.alerts import AlertChannel, AlertSource
    from groupware.phases.types import ProcessKind
    from groupware.records import RecordType
    from groupware.search import Provider
    from groupware.stream import StreamAction, StreamSource
    from groupware.web import QuickCreate


@dataclass(frozen=True)
class Area:
    """What one area adds, read top to bottom."""

    name: str
    # The mapped classes of its tables (importing them completes Base.metadata).
    models: tuple[type, ...] = ()
    # What roles grant rights on, and how its records read to people.
    access_modules: tuple[Module, ...] = ()
    record_types: tuple[RecordType, ...] = ()
    # Page modules (each with ``routes`` and optionally ``nav``) and API operations.
    pages: tuple[ModuleType, ...] = ()
    apis: tuple[Api, ...] = ()
    # Periodic jobs (the server's scheduler and ``groupware run-jobs``).
    jobs: tuple[Job, ...] = ()
    # Late records the alert job looks at, and ways besides the app to deliver alerts.
    alert_sources: tuple[AlertSource, ...] = ()
    alert_channels: tuple[AlertChannel, ...] = ()
    # Processes whose records follow a type's phase template (deals, campaigns): their
    # types are edited in the phases' type editor (groupware.phases.types).
    process_kinds: tuple[ProcessKind, ...] = ()
    # Calendar items the area puts into calendars, by the prefix of their ``source``:
    # the handler applies a client's change of such an item to the record.
    calendar_sources: tuple[tuple[str, SourceHandler], ...] = ()
    # Sections of the partner 360° page, and rows that follow a partner through a merge.
    partner_sections: tuple[Section, ...] = ()
    merge_links: tuple[MergeLink, ...] = ()
    # What a record's activity stream shows (notes, meetings, mail...), and the quick
    # actions of a record's page (groupware.stream).
    stream_sources: tuple[StreamSource, ...] = ()
    stream_actions: tuple[StreamAction, ...] = ()
    # Kinds of record mail is filed on: a filing address (deal-12@), a subject tag
    # ([D-12]), contacts found by their addresses (groupware.mail.filing).
    filing_kinds: tuple[FilingKind, ...] = ()
    # Boxes of the dashboard with the area's figures (groupware.dashboard).
    dashboard_widgets: tuple[Widget, ...] = ()
    # List pages people shape: their columns, sorts, totals, bulk actions and export
    # (groupware.lists), by the list's name.
    lists: tuple[ListDef, ...] = ()
    # Bulk actions the area adds to another area's list, by the list's name (the
    # partner list's "add to a campaign"): the list's own area need not know of them.
    list_actions: tuple[tuple[str, BulkAction], ...] = ()
    # What the header's search box looks through (groupware.search), and the entries of
    # the header's "+" menu (shown to those with the right to create).
    search_providers: tuple[Provider, ...] = ()
    quick_create: tuple[QuickCreate, ...] = ()
    # What must run before the first flush (the history recorder starts listening).
    setup: tuple[Callable[[], None], ...] = ()


@dataclass(frozen=True)
class Wiring:
    """Every area's contributions, gathered in the order of the areas."""

    areas: tuple[Area, ...]
    access_modules: dict[str, Module] = field(default_factory=dict)
    record_types: dict[str, RecordType] = field(default_factory=dict)
    pages: tuple[ModuleType, ...] = ()
    apis: tuple[Api, ...] = ()
    jobs: tuple[Job, ...] = ()
    alert_sources: tuple[AlertSource, ...] = ()
    alert_channels: tuple[AlertChannel, ...] = ()
    process_kinds: dict[str, ProcessKind] = field(default_factory=dict)
    calendar_sources: dict[str, SourceHandler] = field(default_factory=dict)
    partner_sections: tuple[Section, ...] = ()
    merge_links: tuple[MergeLink, ...] = ()
    stream_sources: tuple[StreamSource, ...] = ()
    stream_actions: tuple[StreamAction, ...] = ()
    filing_kinds: tuple[FilingKind, ...] = ()
    dashboard_widgets: tuple[Widget, ...] = ()
    lists: dict[str, ListDef] = field(default_factory=dict)
    search_providers: tuple[Provider, ...] = ()
    quick_create: tuple[QuickCreate, ...] = ()


def _unique(kind: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"two areas declare the {kind} {name!r}")
        seen.add(name)


def gather(areas: Iterable[Area]) -> Wiring:
    """One :class:`Wiring` of ``areas``; two areas naming the same thing is an error."""
    areas = tuple(areas)

    def every(name: str) -> list[Any]:
        return [item for area in areas for item in getattr(area, name)]

    modules, types = every("access_modules"), every("record_types")
    sources, jobs = every("calendar_sources"), every("jobs")
    _unique("area", (a.name for a in areas))
    _unique("access module", (m.name for m in modules))
    _unique("record type", (t.name for t in types))
    _unique("calendar source", (prefix for prefix, _handler in sources))
    _unique("job", (j.name for j in jobs))
    kinds_of_process = sorted(every("process_kinds"), key=lambda k: k.order)
    _unique("process kind", (k.process for k in kinds_of_process))
    _unique("partner section", (s.name for s in every("partner_sections")))
    _unique("merge link", (link.name for link in every("merge_links")))
    _unique("stream source", (source.kind for source in every("stream_sources")))
    _unique("stream action", (action.name for action in every("stream_actions")))
    kinds = every("filing_kinds")
    _unique("filing address", (k.prefix for k in kinds))
    _unique("filing tag", (k.tag for k in kinds if k.tag))
    _unique("filed record type", (k.record_type for k in kinds))
    widgets = every("dashboard_widgets")
    _unique("dashboard widget", (w.name for w in widgets))
    lists = {listed.name: listed for listed in every("lists")}
    _unique("list", (listed.name for listed in every("lists")))
    for list_name, action in every("list_actions"):
        if list_name not in lists:
            raise ValueError(f"a bulk action {action.name!r} for the unknown list {list_name!r}")
        listed = lists[list_name]
        if listed.action(action.name) is not None:
            raise ValueError(f"two bulk actions {action.name!r} on the list {list_name!r}")
        lists[list_name] = dataclasses.replace(listed, bulk=(*listed.bulk, action))
    _unique("search provider", (p.name for p in every("search_providers")))
    _unique("quick-create entry", (q.endpoint for q in every("quick_create")))
    return Wiring(
        areas=areas,
        access_modules={m.name: m for m in modules},
        record_types={t.name: t for t in types},
        pages=tuple(every("pages")),
        apis=tuple(every("apis")),
        jobs=tuple(jobs),
        alert_sources=tuple(every("alert_sources")),
        alert_channels=tuple(every("alert_channels")),
        process_kinds={k.process: k for k in kinds_of_process},
        calendar_sources=dict(sources),
        partner_sections=tuple(sorted(every("partner_sections"), key=lambda s: s.order)),
        merge_links=tuple(every("merge_links")),
        stream_sources=tuple(every("stream_sources")),
        stream_actions=tuple(every("stream_actions")),
        filing_kinds=tuple(kinds),
        dashboard_widgets=tuple(sorted(widgets, key=lambda w: w.order)),
        lists=lists,
        search_providers=tuple(sorted(every("search_providers"), key=lambda p: p.order)),
        quick_create=tuple(sorted(every("quick_create"), key=lambda q: q.order)),
    )


_current: Wiring | None = None


def install(wiring: Wiring) -> None:
    global _current
    _current = wiring


def installed() -> bool:
    return _current is not None


def current() -> Wiring:
    """The areas' contributions; ``groupware.areas.install()`` must have run."""
    if _current is None:
        raise RuntimeError(
            "the areas are not installed: whatever starts groupware calls "
            "groupware.areas.install() first"
        )
    return _current


@contextlib.contextmanager
def extended(area: Area) -> Iterator[Wiring]:
    """The installed areas and ``area`` after them, for the duration of a block (a test
    of what an area may add)."""
    before = current()
    wiring = gather((*before.areas, area))
    install(wiring)
    try:
        yield wiring
    finally:
        install(before)
