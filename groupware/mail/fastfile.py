"""PostgreSQL: a message filed on the event loop as one statement.

Through the writer thread, each message waited on a chain: the hop to the thread, then
BEGIN, the insert and COMMIT as three round trips, each a wake-up of this process and
of PostgreSQL's on busy cores (bench/README.md, smtp_ingest). Here the message row, its
mailbox entries and its links to records (:func:`filing.link_insert`, the general
path's own statement) are written by one data-modifying statement, autocommitted (so
atomic), prepared on the server once per connection, over psycopg's asynchronous
connections from a ``psycopg_pool`` pool: no thread, and the event loop serves other
connections while it waits.

Mail that needs more than these rows goes to the writer thread's general path
(:func:`delivery.store`): a calendar part (iMIP) or an outside recipient (the relay
queue); :func:`takes` says which.

Every wait has a bound (a free connection, opening one, the statement and its commit).
A statement whose connection was lost may have committed or not: it is sent once more
on another connection with the same delivery key (:func:`delivery.delivery_key`), and
the unique key makes the second attempt find the first's message instead of keeping
it twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, cast

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from sqlalchemy import (
    ARRAY,
    Boolean,
    Integer,
    String,
    Table,
    bindparam,
    false,
    func,
    insert,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect

from groupware.db import Database
from groupware.mail import delivery, filing
from groupware.mail.models import MailEntry, MailMessage
from groupware.mail.parsing import parse

log = logging.getLogger("groupware.smtp")

CONNECTIONS = 4  # open at most, per SMTP server
CONNECT_SECONDS = 5  # opening a connection
WAIT_SECONDS = 10.0  # for a free connection of the pool
STATEMENT_SECONDS = 30.0  # for the statement and its commit

_MESSAGES = cast(Table, MailMessage.__table__)
_ENTRIES = cast(Table, MailEntry.__table__)
_COLUMNS = delivery.INSERT_MESSAGE.columns
_KEPT = "SELECT id FROM mail_messages WHERE delivery_key = %(delivery_key)s"


def takes(*, size: int, limit: int, calendar: bool, outside: bool) -> bool:
    """Whether a message may be filed by this one statement: a small one (``limit``
    bytes at most) with no calendar part and no outside recipient."""
    return size <= limit and not calendar and not outside


def statement(known: Sequence[filing.FilingKind], *, links: bool) -> tuple[str, dict[str, Any]]:
    """The filing statement for psycopg (``%(name)s`` parameters): the message
    (nothing when its delivery key is kept already), its entries from three arrays
    (user, folder, seen), with ``links`` its links; it returns the message's id, the
    new one or the one kept before. Also the values of the parameters the statement
    sets itself."""
    message = (
        postgresql.insert(_MESSAGES)
        .values({name: bindparam(name, type_=_MESSAGES.c[name].type) for name in _COLUMNS})
        .on_conflict_do_nothing(index_elements=["delivery_key"])
        .returning(_MESSAGES.c.id)
        .cte("m")
    )
    received = bindparam("received_at", type_=_MESSAGES.c.received_at.type)
    each = (
        func.unnest(
            bindparam("entry_users", type_=ARRAY(Integer)),
            bindparam("entry_folders", type_=ARRAY(String)),
            bindparam("entry_seen", type_=ARRAY(Boolean)),
        )
        .table_valued("user_id", "folder", "seen")
        .render_derived(name="u")
    )
    entries = insert(_ENTRIES).from_select(
        ["message_id", "user_id", "folder", "seen", "private", "created_at"],
        select(message.c.id, each.c.user_id, each.c.folder, each.c.seen, false(), received),
    )
    parts = [entries.cte("e")]
    if links:
        parts.append(filing.link_insert(known, message.c.id, received, arrays=True).cte("l"))
    before = select(_MESSAGES.c.id).where(
        _MESSAGES.c.delivery_key == bindparam("delivery_key", type_=String)
    )
    query = select(message.c.id).add_cte(*parts).union_all(before)
    compiled = query.compile(dialect=psycopg_dialect())  # type: ignore[no-untyped-call]
    # the values of the rules' own parameters (a partner's status), sent every time
    given = {name: value for name, value in compiled.params.items() if value is not None}
    return str(compiled), given


class FastFiler:
    """The pool of an SMTP server's event loop: a few asynchronous, autocommitting
    connections (one alone made the connections queue for it: each statement waits
    for its commit to reach the disk; several let PostgreSQL flush their commits
    together)."""

    def __init__(self, database: Database) -> None:
        url = database.engine.url.set(drivername="postgresql")
        self.pool = AsyncConnectionPool(
            url.render_as_string(hide_password=False),
            min_size=1,
            max_size=CONNECTIONS,
            open=False,
            timeout=WAIT_SECONDS,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_SECONDS},
            name="groupware-smtp",
        )
        self._opened = False
        self.processors = delivery.INSERT_MESSAGE.compiled(database.engine.dialect)[2]
        self.known = filing.kinds()
        self.with_links = statement(self.known, links=True)
        self.internal = statement(self.known, links=False)

    async def file(
        self,
        raw: bytes,
        *,
        envelope_from: str,
        envelope_to: Sequence[str],
        recipient_ids: Sequence[int],
        sender_id: int | None,
        mail_domain: str,
        filed: Sequence[filing.Target] = (),
        key: str | None = None,
    ) -> int | None:
        """File ``raw``; its message id, or None when it needs the general path.
        Raises :class:`psycopg.OperationalError` when the database is unreachable (or
        :class:`TimeoutError` when it did not answer in time)."""
        parsed = parse(raw)
        if parsed.calendars:
            return None
        fields = delivery.message_fields(raw, parsed, envelope_from, envelope_to, key)
        params = {
            k: self.processors[k](v) if k in self.processors else v for k, v in fields.items()
        }
        users = list(dict.fromkeys(recipient_ids))
        params["entry_users"] = [*users, *([sender_id] if sender_id is not None else [])]
        sent = [] if sender_id is None else [True]
        params["entry_folders"] = ["inbox"] * len(users) + ["sent"] * len(sent)
        params["entry_seen"] = [False] * len(users) + sent
        links = filing.plan(
            subject=parsed.subject,
            addresses=[parsed.from_address, *parsed.to, *parsed.cc],
            filed=filed,
            bounce=not envelope_from,
            mail_domain=mail_domain,
            known=self.known,
        )
        sql, given = self.internal
        if links:
            sql, given = self.with_links
            params.update(links.params(self.known))
        params.update(given)
        try:
            return await self._execute(sql, params)
        except PoolTimeout:
            raise  # no connection came in time: the database is away or overloaded
        except psycopg.OperationalError as exc:
            # the connection was lost; the statement may have committed before: once
            # more on another (the delivery key keeps it once), after dropping the
            # pool's connections that the server closed as well
            log.info("filing again on another connection: %s", exc)
            await self.pool.check()
            return await self._execute(sql, params)

    async def open(self, *, wait: bool = False) -> None:
        """Open the pool (the first message does); ``wait`` for its first connection."""
        if not self._opened:
            await self.pool.open(wait=wait, timeout=WAIT_SECONDS)
            self._opened = True

    async def _execute(self, sql: str, params: dict[str, Any]) -> int:
        await self.open()
        async with asyncio.timeout(STATEMENT_SECONDS), self.pool.connection() as connection:
            cursor = await connection.execute(sql, params, prepare=True)
            row = await cursor.fetchone()
            if row is None:
                # kept by an attempt that committed while this one waited for its key:
                # after the statement began, so only a new statement sees it
                cursor = await connection.execute(_KEPT, params)
                row = await cursor.fetchone()
            assert row is not None
            return int(row[0])

    async def close(self) -> None:
        if self._opened:
            await self.pool.close()
            self._opened = False
