"""A PUT of a whole calendar, written without holding the database's write lock for long.

Radicale parses the upload and hands the storage every item at once (10,000 events in
one request is an import). Written the way one item is, that took minutes in one
transaction, and on SQLite every other writer (mail delivery, a colleague's PUT) waited
behind it. Here:

1. every item is checked and indexed first (:func:`prepare`: size, kind, time range,
   occurrences), outside any transaction: a bad item refuses the upload and nothing
   changes;
2. the items are written in chunks (:func:`write`), each chunk in a short write
   transaction of its own with a sync revision of its own, by one statement per kind of
   change (:func:`store.put_many`); the chunk is sized from the one before so that it
   holds the lock about :data:`HOLD_SECONDS`;
3. the items the calendar held and the upload does not are deleted last, in chunks too.

On SQLite a pause of :data:`PAUSE_SECONDS` follows each transaction: a writer waiting
for the lock sleeps in SQLite's busy handler for up to 100 ms between tries, so a
shorter gap could let it miss every one. On PostgreSQL other writers never wait for
the whole database, so there is no pause.

What a client sees: syncing clients see the calendar change chunk by chunk. If the
server or the database fails midway, the calendar holds everything it held before plus
the new items written so far (no deletion comes before every write is done); the
uploading client gets an error, and repeating the same upload finishes it.

Each transaction is logged (DEBUG, this module's logger) with how many items it wrote
and how long it held the lock (``upload_items``, ``upload_held_seconds``).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from radicale import item as radicale_item
from sqlalchemy.orm import Session

from groupware.caldav import store
from groupware.caldav.models import Calendar
from groupware.db import Database, bind_actor
from groupware.errors import Invalid
from groupware.i18n import _

log = logging.getLogger(__name__)

HOLD_SECONDS = 0.2
FIRST_CHUNK = 200  # items in the first transaction, before one is measured
MIN_CHUNK = 20
MAX_CHUNK = 1000
CHUNK_BYTES = 4 * 1024 * 1024
PAUSE_SECONDS = 0.11

T = TypeVar("T")


def prepare(
    items: Sequence[radicale_item.Item], known: Mapping[str, str], limits: store.Limits
) -> list[store.Prepared]:
    """Check and index every item, or raise the refusal of the first bad one (naming
    its UID). An item whose UID the calendar holds (``known``: UID -> name) keeps its
    name (a client's, or a CRM record's, which then hears of the change); a new one is
    named by its UID."""
    names = {item.uid: known[item.uid] for item in items if item.uid in known}
    taken = set(names.values())
    prepared: list[store.Prepared] = []
    for item in items:
        href = names.get(item.uid) or href_for(item, taken)
        taken.add(href)
        try:
            prepared.append(store.prepare_item(href, item, limits=limits))
        except Invalid as exc:
            reason = "; ".join(str(m) for m in exc.errors.values())
            raise type(exc)({"ics": _("%(uid)s: %(reason)s", uid=item.uid, reason=reason)}) from exc
    return prepared


def href_for(item: radicale_item.Item, taken: set[str] | None = None) -> str:
    """A new item's name: its UID where that is a safe name, else (or when another UID
    came to the same name) a digest of the UID."""
    uid = item.uid
    safe = "".join(c for c in uid if c.isalnum() or c in "-_.@")[:200]
    href = f"{safe}.ics"
    if not safe or (taken is not None and href in taken):
        href = f"{radicale_item.get_etag(uid).strip(chr(34))[:32]}.ics"
    return href


class Transactions:
    """Short write transactions, each its own, logged with how long it held the lock
    and on SQLite followed by a pause (see the module docstring)."""

    def __init__(self, database: Database, actor_id: int | None) -> None:
        self.database = database
        self.actor_id = actor_id

    def run(self, work: Callable[[Session], T], count: int = 0) -> tuple[T, float]:
        """``work`` in a transaction of its own: its result, and the seconds it held
        the write lock."""
        session = self.database.session(write=True)
        with session:
            with session.begin():
                bind_actor(session, actor_id=self.actor_id, channel="dav")
                session.connection()  # BEGIN (IMMEDIATE on SQLite): the lock is ours
                began = time.perf_counter()
                result = work(session)
            held = time.perf_counter() - began
        log.debug(
            "calendar upload: %d items in a transaction that held the write lock %.3f s",
            count, held, extra={"upload_items": count, "upload_held_seconds": held},
        )  # fmt: skip
        if self.database.is_sqlite:
            time.sleep(PAUSE_SECONDS)
        return result, held


def write(transactions: Transactions, calendar_id: int, prepared: Sequence[store.Prepared]) -> None:
    """Make ``prepared`` the calendar's items: written in chunks, then the others
    deleted (see the module docstring)."""
    size = FIRST_CHUNK
    start = 0
    while start < len(prepared):
        end, volume = start, 0
        while end < len(prepared) and end - start < size and volume < CHUNK_BYTES:
            volume += prepared[end].size
            end += 1
        chunk = prepared[start:end]
        _done, held = transactions.run(functools.partial(_put_many, calendar_id, chunk), len(chunk))
        size = max(MIN_CHUNK, min(MAX_CHUNK, int(size * HOLD_SECONDS / max(held, 0.001))))
        start = end
    with transactions.database.session() as session, session.begin():
        gone = sorted(store.live_hrefs(session, calendar_id) - {p.href for p in prepared})
    for start in range(0, len(gone), MAX_CHUNK):
        hrefs = gone[start : start + MAX_CHUNK]
        transactions.run(functools.partial(_delete_many, calendar_id, hrefs), len(hrefs))


def _calendar(session: Session, calendar_id: int) -> Calendar:
    calendar = session.get(Calendar, calendar_id)
    if calendar is None:
        raise ValueError("the calendar is gone")
    return calendar


def _put_many(calendar_id: int, chunk: Sequence[store.Prepared], session: Session) -> None:
    store.put_many(session, _calendar(session, calendar_id), chunk)


def _delete_many(calendar_id: int, hrefs: Sequence[str], session: Session) -> Any:
    store.delete_many(session, _calendar(session, calendar_id), hrefs)
