"""Radicale's storage on our database: collections are :class:`Calendar` rows, items
:class:`CalendarItem` rows, all written through :mod:`groupware.caldav.store`.

Paths: ``""`` is the root, ``"<username>"`` a user's principal (their calendar home),
``"<username>/<slug>"`` a calendar and ``"<username>/<slug>/<href>"`` an item.

Radicale takes ``acquire_lock("r"|"w")`` around the storage work of a request; here
that lock is a database transaction (a read or a write one) kept for the thread. A
collection keeps a snapshot of its calendar's properties, because Radicale reads them
after the lock is gone (PROPFIND, REPORT); a read outside the lock opens a short read
transaction of its own.
"""

from __future__ import annotations

import contextlib
import email.utils
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from radicale import item as radicale_item
from radicale import pathutils
from radicale.item import filter as radicale_filter
from radicale.storage import BaseCollection, BaseStorage
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.caldav import store
from groupware.caldav.models import Calendar, CalendarItem
from groupware.db import Database, bind_actor
from groupware.errors import GroupwareError

SYNC_PREFIX = "urn:x-groupware:sync:"


@dataclass(frozen=True)
class Snapshot:
    """What a collection needs of its calendar after the transaction is over."""

    id: int
    owner_id: int
    revision: int
    meta: Mapping[str, str]
    updated: str  # HTTP date

    @classmethod
    def of(cls, calendar: Calendar) -> Snapshot:
        return cls(
            id=calendar.id,
            owner_id=calendar.owner_id,
            revision=calendar.revision,
            meta=store.meta(calendar),
            updated=email.utils.format_datetime(calendar.updated_at, usegmt=True),
        )


class Collection(BaseCollection):
    def __init__(self, storage: Storage, path: str, snapshot: Snapshot | None = None) -> None:
        self._storage = storage
        self._path = path.strip("/")  # "user/slug", as Radicale names collections
        self._snapshot = snapshot

    @property
    def path(self) -> str:
        return self._path

    # -- properties ----------------------------------------------------------------

    def get_meta(self, key: str | None = None) -> Any:
        meta: Mapping[str, str] = self._snapshot.meta if self._snapshot else {}
        return dict(meta) if key is None else meta.get(key)

    def set_meta(self, props: Mapping[str, str]) -> None:
        with self._storage.session() as session:
            calendar = self._calendar(session)
            store.set_meta(calendar, props)
            session.flush()
            self._snapshot = Snapshot.of(calendar)

    @property
    def last_modified(self) -> str:
        if self._snapshot is None:
            return email.utils.formatdate(usegmt=True)
        return self._snapshot.updated

    @property
    def etag(self) -> str:
        if self._snapshot is None:
            return '"root"'
        digest = radicale_item.get_etag(f"{self._snapshot.id}/{self._snapshot.revision}/"
                                        f"{sorted(self._snapshot.meta.items())}")  # fmt: skip
        return digest

    # -- items ---------------------------------------------------------------------

    def _item(self, row: CalendarItem) -> radicale_item.Item:
        return radicale_item.Item(
            collection=self,
            href=row.href,
            text=row.ics,
            etag=row.etag,
            uid=row.uid,
            component_name=row.component,
            name="VCALENDAR",
            time_range=(row.starts, row.ends),
            last_modified=email.utils.format_datetime(row.updated_at, usegmt=True),
        )

    def _rows(self, **filters: Any) -> list[CalendarItem]:
        if self._snapshot is None:
            return []
        with self._storage.session() as session:
            return store.live_items(session, self._snapshot.id, **filters)

    def get_multi(self, hrefs: Iterable[str]) -> Iterable[tuple[str, radicale_item.Item | None]]:
        wanted = list(dict.fromkeys(hrefs))
        found = {row.href: self._item(row) for row in self._rows(hrefs=wanted)}
        return [(href, found.get(href)) for href in wanted]

    def get_all(self) -> Iterable[radicale_item.Item]:
        return [self._item(row) for row in self._rows()]

    def get_filtered(
        self, filters: Iterable[ET.Element]
    ) -> Iterable[tuple[radicale_item.Item, bool]]:
        """Items that may match ``filters``, found by the time-range index; the bool
        says whether the index alone decided (Radicale then skips its own check)."""
        if not self.tag:
            return []
        tag, start, end, simple = radicale_filter.simplify_prefilters(filters, self.tag)
        if self._snapshot is None:
            return []
        with self._storage.session() as session:
            found = store.in_range(session, self._snapshot.id, tag, start, end)
        results = []
        for row, certain in found:
            if certain:  # a recurring item with an occurrence in the range
                matched = simple
            elif row.recurring:  # beyond its list of occurrences: Radicale checks
                matched = False
            else:  # Radicale's own rule for one time range
                matched = simple and (start <= row.starts or row.ends <= end)
            results.append((self._item(row), matched))
        return results

    def has_uid(self, uid: str) -> bool:
        if self._snapshot is None:
            return False
        with self._storage.session() as session:
            query = select(CalendarItem.id).where(
                CalendarItem.calendar_id == self._snapshot.id,
                CalendarItem.uid == uid,
                CalendarItem.ics.is_not(None),
            )
            return session.scalar(query.limit(1)) is not None

    def upload(
        self, href: str, item: radicale_item.Item
    ) -> tuple[radicale_item.Item, radicale_item.Item | None]:
        with self._storage.session() as session:
            calendar = self._calendar(session)
            old = store.live_items(session, calendar.id, hrefs=[href])
            old_item = self._item(old[0]) if old else None
            with self._storage.refusals():
                row = store.put_item(session, calendar, href, item, limits=self._storage.limits)
            self._snapshot = Snapshot.of(calendar)
            return self._item(row), old_item

    def delete(self, href: str | None = None) -> None:
        with self._storage.session() as session:
            calendar = self._calendar(session)
            if href is None:
                store.delete_calendar(session, calendar)
                self._snapshot = None
                return
            with self._storage.refusals():
                store.delete_item(session, calendar, href)
            self._snapshot = Snapshot.of(calendar)

    # -- sync ----------------------------------------------------------------------

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        """The current token and the hrefs changed since ``old_token`` (all, without
        one); an unknown token raises ValueError, and the client starts over."""
        with self._storage.session() as session:
            calendar = self._calendar(session)
            token = f"{SYNC_PREFIX}{calendar.id}:{calendar.revision}"
            if not old_token:
                return token, [row.href for row in store.live_items(session, calendar.id)]
            prefix = f"{SYNC_PREFIX}{calendar.id}:"
            if not old_token.startswith(prefix) or not old_token[len(prefix) :].isdigit():
                raise ValueError(f"malformed sync token {old_token!r}")
            return token, store.changed_since(session, calendar, int(old_token[len(prefix) :]))

    def _calendar(self, session: Session) -> Calendar:
        if self._snapshot is None:
            raise ValueError(f"{self._path!r} is not a calendar")
        calendar = session.get(Calendar, self._snapshot.id)
        if calendar is None:
            raise ValueError(f"the calendar {self._path!r} is gone")
        return calendar


class Storage(BaseStorage):
    """Radicale's storage plugin (see the module docstring)."""

    _supports_unicode = True
    _is_collision_free = True

    def __init__(self, configuration: Any, database: Database, limits: store.Limits) -> None:
        super().__init__(configuration)
        self.database = database
        self.limits = limits
        self._local = threading.local()

    # -- transactions --------------------------------------------------------------

    @contextlib.contextmanager
    def acquire_lock(self, mode: str, user: str = "", *args: Any, **kwargs: Any) -> Iterator[None]:
        if getattr(self._local, "session", None) is not None:  # already inside one
            yield
            return
        write = mode == "w"
        with self.database.session(write=write) as session, session.begin():
            actor = None
            if write and user:  # history says who changed a task from their calendar
                actor = session.scalar(select(User.id).where(User.username == user))
            bind_actor(session, actor_id=actor, channel="dav")
            self._local.session = session
            try:
                yield
            finally:
                self._local.session = None

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """The lock's transaction, or a short read one when called after it."""
        current: Session | None = getattr(self._local, "session", None)
        if current is not None:
            yield current
            return
        with self.database.session() as session, session.begin():
            bind_actor(session, actor_id=None, channel="dav")
            yield session

    @staticmethod
    @contextlib.contextmanager
    def refusals() -> Iterator[None]:
        """Our services' refusals as the ValueError Radicale answers 4xx to."""
        try:
            yield
        except GroupwareError as exc:
            raise ValueError(str(exc.message) or "refused") from exc

    # -- the tree ------------------------------------------------------------------

    def discover(
        self,
        path: str,
        depth: str = "0",
        child_context_manager: Callable[[str, str | None], AbstractContextManager[None]]
        | None = None,
        user_groups: set[str] | None = None,
    ) -> Iterator[Any]:
        sane = pathutils.strip_path(path)
        parts = sane.split("/") if sane else []
        if not parts:
            yield Collection(self, "")
            return
        if len(parts) > 3:
            return
        with self.session() as session:
            user = session.scalar(select(User).where(User.username == parts[0]))
            if user is None or not user.is_active:
                return
            if len(parts) == 1:
                calendars = store.calendars_of(session, user.id)
                if not calendars:
                    # Radicale then "creates the principal" on the user's first login:
                    # create_collection() makes their calendar and CRM task list.
                    return
                yield Collection(self, user.username)
                if depth != "0":
                    for own in calendars:
                        yield Collection(self, f"{user.username}/{own.slug}", Snapshot.of(own))
                    # Calendars shared with the user are listed in their home too, at
                    # their own address, so a client offers them without being told.
                    for shared, owner in store.shared_with(session, user.id):
                        yield Collection(self, f"{owner}/{shared.slug}", Snapshot.of(shared))
                return
            calendar = store.calendar_by_slug(session, user.id, parts[1])
            if calendar is None:
                return
            collection = Collection(self, f"{user.username}/{calendar.slug}", Snapshot.of(calendar))
            if len(parts) == 3:
                rows = store.live_items(session, calendar.id, hrefs=[parts[2]])
                if rows:
                    yield collection._item(rows[0])
                return
            yield collection
            if depth != "0":
                for row in store.live_items(session, calendar.id):
                    yield collection._item(row)

    def create_collection(
        self,
        href: str,
        items: Iterable[radicale_item.Item] | None = None,
        props: Mapping[str, str] | None = None,
    ) -> tuple[Collection, dict[str, radicale_item.Item], list[str]]:
        sane = pathutils.strip_path(href)
        parts = sane.split("/") if sane else []
        with self.session() as session:
            if len(parts) == 1:  # a user's home: it holds at least their own calendars
                owner = session.scalar(select(User).where(User.username == parts[0]))
                if owner is None or not owner.is_active:
                    raise ValueError("no such user")
                store.ensure_defaults(session, owner)
                return Collection(self, sane), {}, []
            if len(parts) != 2:
                raise ValueError("calendars live in a user's home: /<user>/<calendar>/")
            if props and props.get("tag", "VCALENDAR") != "VCALENDAR":
                raise ValueError("only calendars can be made here")
            user = session.scalar(select(User).where(User.username == parts[0]))
            if user is None:
                raise ValueError("no such user")
            existing = store.calendar_by_slug(session, user.id, parts[1])
            if existing is not None:
                calendar = existing
                if props:
                    store.set_meta(calendar, props)
            else:
                with self.refusals():
                    calendar = store.create_calendar(
                        session, user.id, parts[1], props, limits=self.limits
                    )
            collection = Collection(self, sane, Snapshot.of(calendar))
            replaced: dict[str, radicale_item.Item] = {}
            new: list[str] = []
            if items is not None:  # a PUT of a whole calendar replaces its items
                before = {
                    row.href: collection._item(row)
                    for row in store.live_items(session, calendar.id)
                }
                kept = set()
                for item in items:
                    item_href = _href_for(item)
                    with self.refusals():
                        store.put_item(session, calendar, item_href, item, limits=self.limits)
                    kept.add(item_href)
                    if item_href in before:
                        replaced[item_href] = before[item_href]
                    else:
                        new.append(item_href)
                for gone in set(before) - kept:
                    store.delete_item(session, calendar, gone)
            collection._snapshot = Snapshot.of(calendar)
            return collection, replaced, new

    def move(self, item: radicale_item.Item, to_collection: BaseCollection, to_href: str) -> None:
        source = item.collection
        assert isinstance(source, Collection) and isinstance(to_collection, Collection)
        assert item.href is not None
        with self.session() as session:
            target = to_collection._calendar(session)
            with self.refusals():
                store.put_item(session, target, to_href, item, limits=self.limits)
            store.delete_item(session, source._calendar(session), item.href)

    def verify(self) -> bool:
        return True


def _href_for(item: radicale_item.Item) -> str:
    uid = item.uid
    safe = "".join(c for c in uid if c.isalnum() or c in "-_.@")[:200]
    return f"{safe or radicale_item.get_etag(uid).strip(chr(34))[:32]}.ics"
