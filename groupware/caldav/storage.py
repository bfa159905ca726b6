"""Radicale's storage on our database: collections are :class:`Calendar` rows, items
:class:`CalendarItem` rows, all written through :mod:`groupware.caldav.store`.

Paths: ``""`` is the root, ``"<username>"`` a user's principal (their calendar home),
``"<username>/<slug>"`` a calendar and ``"<username>/<slug>/<href>"`` an item.

Radicale takes ``acquire_lock("r"|"w")`` around the storage work of a request; here
that lock is a database transaction (a read or a write one) kept for the thread. A
collection keeps a snapshot of its calendar's properties, because Radicale reads them
after the lock is gone (PROPFIND, REPORT); a read outside the lock opens a short read
transaction of its own.

What a collection shows depends on who looks (the viewer, the user of the request):

* a calendar's owner sees all of it;
* those it is shared with see its items, but a private one (``CLASS`` other than
  PUBLIC) only as a copy with its times and a neutral title
  (:func:`privacy.private_copy`), and they may not change, move or delete it: writing
  the copy back would lose what it hides;
* a colleague without a share sees only what free/busy needs: the calendar's
  address, its kind and its owner's name, no title, colour, description, ctag or
  sync token that would tell what is in it or when it changed.

A PUT of a whole calendar (``/<user>/<slug>/``) does not hold the write lock for the
whole upload: its lock is a read transaction, and the items are written in short
transactions of their own (:mod:`groupware.caldav.upload`).
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
from groupware.caldav import privacy, store, upload
from groupware.caldav.models import Calendar, CalendarItem
from groupware.db import Database, bind_actor
from groupware.errors import Forbidden, GroupwareError
from groupware.i18n import _, use_language

SYNC_PREFIX = "urn:x-groupware:sync:"
# All a free/busy viewer learns of a calendar's changes.
FREEBUSY_TOKEN = "urn:x-groupware:free-busy"  # noqa: S105 - not a secret


@dataclass(frozen=True)
class Viewer:
    """Who a request's storage work is for (Radicale's ``user``)."""

    id: int | None
    language: str = "hr"


@dataclass(frozen=True)
class Snapshot:
    """What a collection needs of its calendar after the transaction is over;
    ``free_busy``: all the viewer may learn of it is when its owner is busy."""

    id: int
    owner_id: int
    revision: int
    meta: Mapping[str, str]
    updated: str  # HTTP date
    free_busy: bool = False

    @classmethod
    def of(cls, calendar: Calendar) -> Snapshot:
        return cls(
            id=calendar.id,
            owner_id=calendar.owner_id,
            revision=calendar.revision,
            meta=store.meta(calendar),
            updated=email.utils.format_datetime(calendar.updated_at, usegmt=True),
        )

    @classmethod
    def for_free_busy(cls, calendar: Calendar, owner_name: str) -> Snapshot:
        """Its kind and whose it is; nothing that changes when its items do."""
        return cls(
            id=calendar.id,
            owner_id=calendar.owner_id,
            revision=0,
            meta={
                "tag": "VCALENDAR",
                store.NAME_PROP: owner_name,
                store.COMPONENTS_PROP: calendar.components,
            },
            updated=email.utils.format_datetime(calendar.created_at, usegmt=True),
            free_busy=True,
        )


class Collection(BaseCollection):
    def __init__(
        self,
        storage: Storage,
        path: str,
        snapshot: Snapshot | None = None,
        viewer: Viewer | None = None,
    ) -> None:
        self._storage = storage
        self._path = path.strip("/")  # "user/slug", as Radicale names collections
        self._snapshot = snapshot
        self._viewer = viewer

    @property
    def path(self) -> str:
        return self._path

    @property
    def _owned(self) -> bool:
        """Whether the viewer owns the calendar (and sees all of it)."""
        snapshot = self._snapshot
        return bool(snapshot and self._viewer and self._viewer.id == snapshot.owner_id)

    def _hides(self, text: str) -> bool:
        """Whether the viewer sees only a copy of this item (see the module docstring)."""
        snapshot = self._snapshot
        if snapshot is None or self._owned:
            return False
        return snapshot.free_busy or privacy.is_private(text)

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
        text, etag = row.ics, row.etag
        if text and self._hides(text):
            language = self._viewer.language if self._viewer else "hr"
            with use_language(language):
                text = privacy.private_copy(text, _("Busy"))
            etag = radicale_item.get_etag(text)
        return radicale_item.Item(
            collection=self,
            href=row.href,
            text=text,
            etag=etag,
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
            with self._storage.refusals():
                if old:
                    self.check_may_change(old[0])
                row = store.put_item(session, calendar, href, item, limits=self._storage.limits)
            self._snapshot = Snapshot.of(calendar)
            return self._item(row), (self._item(old[0]) if old else None)

    def delete(self, href: str | None = None) -> None:
        with self._storage.session() as session:
            calendar = self._calendar(session)
            if href is None:
                store.delete_calendar(session, calendar)
                self._snapshot = None
                return
            with self._storage.refusals():
                for row in store.live_items(session, calendar.id, hrefs=[href]):
                    self.check_may_change(row)
                store.delete_item(session, calendar, href)
            self._snapshot = Snapshot.of(calendar)

    def check_may_change(self, row: CalendarItem) -> None:
        """A private item is changed, moved or deleted by its owner only: others see
        (and would write back) a copy without what it hides."""
        if not self._owned and privacy.is_private(row.ics):
            raise Forbidden(
                _("This item is private: only the owner of the calendar may change it.")
            )

    # -- sync ----------------------------------------------------------------------

    def sync(self, old_token: str = "") -> tuple[str, Iterable[str]]:
        """The current token and the hrefs changed since ``old_token`` (all, without
        one); an unknown token raises ValueError, and the client starts over."""
        if self._snapshot is not None and self._snapshot.free_busy:
            return FREEBUSY_TOKEN, []
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


# What our services refused during the current request, for the answer's body (see
# groupware.caldav.gate): Radicale itself answers a bare "400 Bad Request" to the
# ValueError it gets instead.
_refused = threading.local()


def take_refusal() -> GroupwareError | None:
    """The refusal recorded in this thread since the last call, if any."""
    refusal: GroupwareError | None = getattr(_refused, "error", None)
    _refused.error = None
    return refusal


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
        # A PUT of a whole calendar writes in transactions of its own (see _upload):
        # its lock reads only.
        upload = mode == "w" and kwargs.get("request") == "PUT" and _depth(kwargs) == 2
        write = mode == "w" and not upload
        with self.database.session(write=write) as session, session.begin():
            viewer = session.execute(
                select(User.id, User.language).where(User.username == user)
            ).first()
            self._local.viewer = Viewer(*viewer) if viewer else Viewer(None)
            # History says who changed a task from their calendar.
            self._local.actor = self._local.viewer.id if mode == "w" else None
            bind_actor(session, actor_id=self._local.actor, channel="dav")
            self._local.session = session
            self._local.upload = upload
            try:
                with use_language(self._local.viewer.language):
                    yield
            finally:
                self._local.session = None
                self._local.upload = False
                self._local.viewer = None

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

    @property
    def _viewer(self) -> Viewer:
        viewer: Viewer | None = getattr(self._local, "viewer", None)
        return viewer or Viewer(None)

    @staticmethod
    @contextlib.contextmanager
    def refusals() -> Iterator[None]:
        """Our services' refusals as the ValueError Radicale answers 4xx to; the
        refusal itself is kept for the answer (:func:`take_refusal`)."""
        try:
            yield
        except GroupwareError as exc:
            _refused.error = exc
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
        viewer = self._viewer
        with self.session() as session:
            user = session.scalar(select(User).where(User.username == parts[0]))
            if user is None or not user.is_active:
                return
            if len(parts) == 1:
                yield from self._home(session, user, depth, viewer)
                return
            calendar = store.calendar_by_slug(session, user.id, parts[1])
            if calendar is None:
                return
            access = privacy.access_of(session, viewer.id, [calendar])[calendar.id]
            collection = Collection(
                self, f"{user.username}/{calendar.slug}", _snapshot(calendar, access, user), viewer
            )
            if len(parts) == 3:
                rows = store.live_items(session, calendar.id, hrefs=[parts[2]])
                if rows:
                    yield collection._item(rows[0])
                return
            yield collection
            if depth != "0":
                for row in store.live_items(session, calendar.id):
                    yield collection._item(row)

    def _home(self, session: Session, user: User, depth: str, viewer: Viewer) -> Iterator[Any]:
        """A user's home and, with depth, the calendars in it: for its owner their own
        and those shared with them (at their own addresses, so a client offers them
        without being told); for a colleague those that take events, as much of each
        as the colleague may see."""
        calendars = store.calendars_of(session, user.id)
        if not calendars:
            # Radicale then "creates the principal" on the user's first login:
            # create_collection() makes their calendar and CRM task list.
            return
        yield Collection(self, user.username)
        if depth == "0":
            return
        if viewer.id == user.id:
            for own in calendars:
                yield Collection(self, f"{user.username}/{own.slug}", Snapshot.of(own), viewer)
            for shared, owner in store.shared_with(session, user.id):
                yield Collection(self, f"{owner}/{shared.slug}", Snapshot.of(shared), viewer)
            return
        access = privacy.access_of(session, viewer.id, calendars)
        for calendar in calendars:
            if access[calendar.id] == "freebusy" and "VEVENT" not in calendar.components:
                continue  # nothing of it counts towards free/busy
            snapshot = _snapshot(calendar, access[calendar.id], user)
            yield Collection(self, f"{user.username}/{calendar.slug}", snapshot, viewer)

    def create_collection(
        self,
        href: str,
        items: Iterable[radicale_item.Item] | None = None,
        props: Mapping[str, str] | None = None,
    ) -> tuple[Collection, dict[str, radicale_item.Item], list[str]]:
        sane = pathutils.strip_path(href)
        parts = sane.split("/") if sane else []
        if len(parts) == 1 and items is not None:
            with self.refusals():
                raise Forbidden(_("A calendar is uploaded to its own address, not to a home."))
        if len(parts) == 2 and items is not None:
            return self._upload(parts[0], parts[1], items, props)
        with self.session() as session:
            if len(parts) == 1:  # a user's home: it holds at least their own calendars
                owner = session.scalar(select(User).where(User.username == parts[0]))
                if owner is None or not owner.is_active:
                    raise ValueError("no such user")
                store.ensure_defaults(session, owner)
                return Collection(self, sane), {}, []
            if len(parts) != 2:
                raise ValueError("calendars live in a user's home: /<user>/<calendar>/")
            calendar = self._calendar_for(session, parts[0], parts[1], props)
            return Collection(self, sane, Snapshot.of(calendar), self._viewer), {}, []

    def _calendar_for(
        self, session: Session, username: str, slug: str, props: Mapping[str, str] | None
    ) -> Calendar:
        """The calendar at ``username/slug``, made if there is none; ``props`` set."""
        if props and props.get("tag", "VCALENDAR") != "VCALENDAR":
            raise ValueError("only calendars can be made here")
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise ValueError("no such user")
        calendar = store.calendar_by_slug(session, user.id, slug)
        if calendar is not None:
            if props:
                store.set_meta(calendar, props)
            return calendar
        with self.refusals():
            return store.create_calendar(session, user.id, slug, props, limits=self.limits)

    # -- a whole calendar at once --------------------------------------------------

    def _upload(
        self,
        username: str,
        slug: str,
        items: Iterable[radicale_item.Item],
        props: Mapping[str, str] | None,
    ) -> tuple[Collection, dict[str, radicale_item.Item], list[str]]:
        """Replace a calendar's items with ``items`` (a PUT of a whole calendar), in
        short transactions of their own (:mod:`groupware.caldav.upload`). Radicale's
        hooks are off, so the items replaced are not handed back."""
        if not getattr(self._local, "upload", False):  # the lock would be held throughout
            raise ValueError("a whole calendar is uploaded by a PUT to its address")
        with self.database.session() as session, session.begin():
            known = store.hrefs_by_uid(session, username, slug)
        with self.refusals():
            prepared = upload.prepare(list(items), known, self.limits)
        transactions = upload.Transactions(self.database, getattr(self._local, "actor", None))
        with self.refusals():
            calendar_id, _held = transactions.run(
                lambda session: self._calendar_for(session, username, slug, props).id
            )
            upload.write(transactions, calendar_id, prepared)
        with self.database.session() as session, session.begin():
            calendar = session.get(Calendar, calendar_id)
            if calendar is None:
                raise ValueError("the calendar is gone")
            snapshot = Snapshot.of(calendar)
        collection = Collection(self, f"{username}/{slug}", snapshot, self._viewer)
        return collection, {}, [p.href for p in prepared]

    def move(self, item: radicale_item.Item, to_collection: BaseCollection, to_href: str) -> None:
        source = item.collection
        assert isinstance(source, Collection) and isinstance(to_collection, Collection)
        assert item.href is not None
        with self.session() as session:
            target = to_collection._calendar(session)
            with self.refusals():
                for row in store.live_items(
                    session, source._calendar(session).id, hrefs=[item.href]
                ):
                    source.check_may_change(row)
                store.put_item(session, target, to_href, item, limits=self.limits)
            store.delete_item(session, source._calendar(session), item.href)

    def verify(self) -> bool:
        return True


def _depth(lock_arguments: Mapping[str, Any]) -> int:
    path = pathutils.strip_path(str(lock_arguments.get("path") or ""))
    return len(path.split("/")) if path else 0


def _snapshot(calendar: Calendar, access: str, owner: User) -> Snapshot:
    if access == "freebusy":
        return Snapshot.for_free_busy(calendar, owner.full_name or owner.username)
    return Snapshot.of(calendar)
