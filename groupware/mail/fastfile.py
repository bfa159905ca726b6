"""PostgreSQL: a plain message filed on the event loop as one statement.

Through the writer thread, each message waited on a chain: the hop to the thread, then
BEGIN, the insert and COMMIT as three round trips, each a wake-up of this process and
of PostgreSQL's on busy cores (bench/README.md, smtp_ingest). Here the message row, its
mailbox entries and its links to partners by a known address are written by one
data-modifying statement, autocommitted (so atomic), on psycopg's asynchronous
connection: no thread, and the event loop serves other connections while it waits.

Only mail that needs nothing but these rows takes this path: no calendar part (iMIP),
no filing address, no deal tag in the subject, no outside recipient (the relay queue).
Anything else goes to the writer thread's general path, :func:`delivery.store`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import psycopg

from groupware.db import Database
from groupware.mail import delivery
from groupware.mail.parsing import parse

log = logging.getLogger("groupware.smtp")

CONNECTIONS = 4  # open at most, per SMTP server

_FILING = """WITH m AS ({message}),
e AS (
    INSERT INTO mail_entries (message_id, user_id, folder, seen, private, created_at)
    SELECT m.id, e.user_id, e.folder, e.seen, false, %(received_at)s
    FROM m, unnest(%(entry_users)s::integer[], %(entry_folders)s::varchar[],
                   %(entry_seen)s::boolean[]) AS e(user_id, folder, seen)
){links}
SELECT id FROM m"""
_LINKS = """,
l AS (
    INSERT INTO mail_links (message_id, record_type, record_id, how, created_at)
    SELECT m.id, 'partners', p.id, 'contact', %(received_at)s
    FROM m, (
        SELECT id FROM partners WHERE email = ANY(%(outside)s) AND status <> 'merged'
        UNION SELECT partner_id FROM persons WHERE email = ANY(%(outside)s)
    ) AS p(id)
)"""


class FastFiler:
    """A few asynchronous, autocommitting connections of an SMTP server's event loop
    (one alone made the connections queue for it: each statement waits for its commit
    to reach the disk; several let PostgreSQL flush their commits together)."""

    def __init__(self, database: Database) -> None:
        url = database.engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        sql, _names, self.processors = delivery.INSERT_MESSAGE.compiled(database.engine.dialect)
        # with the partners looked up by the outside addresses, and without (mail
        # between colleagues has none)
        self.sql = _FILING.format(message=sql, links=_LINKS)
        self.sql_internal = _FILING.format(message=sql, links="")
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._open = 0
        self._ready = asyncio.Event()

    async def file(
        self,
        raw: bytes,
        *,
        envelope_from: str,
        envelope_to: Sequence[str],
        recipient_ids: Sequence[int],
        sender_id: int | None,
        mail_domain: str,
    ) -> int | None:
        """File ``raw``; its message id, or None when it needs the general path.
        Raises :class:`psycopg.OperationalError` when the database is unreachable."""
        parsed = parse(raw)
        if parsed.calendars or delivery.TAG.search(parsed.subject):
            return None
        fields = delivery.message_fields(raw, parsed, envelope_from, envelope_to)
        params = {
            k: self.processors[k](v) if k in self.processors else v for k, v in fields.items()
        }
        users = list(dict.fromkeys(recipient_ids))
        params["entry_users"] = [*users, *([sender_id] if sender_id is not None else [])]
        sent = [] if sender_id is None else [True]
        params["entry_folders"] = ["inbox"] * len(users) + ["sent"] * len(sent)
        params["entry_seen"] = [False] * len(users) + sent
        addresses = [parsed.from_address, *parsed.to, *parsed.cc] if envelope_from else []
        outside = sorted(delivery.outside_addresses(addresses, mail_domain.lower()))
        sql = self.sql_internal
        if outside:
            sql, params["outside"] = self.sql, outside
        try:
            return await self._execute(sql, params)
        except psycopg.OperationalError:
            # a connection the server dropped meanwhile (all idle ones are gone now):
            # once more on a new one; a second failure means the database is away
            return await self._execute(sql, params)

    async def _execute(self, sql: str, params: dict[str, Any]) -> int:
        connection = await self._take()
        try:
            cursor = await connection.execute(sql, params)
            found = await cursor.fetchone()
        except psycopg.OperationalError:
            await self._close(connection)
            await self._drop_idle()
            raise
        except BaseException:
            # a message the database refused (its statement rolled back), or a
            # cancelled wait: the connection serves the next message if it is idle
            if connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                self._give_back(connection)
            else:
                await self._close(connection)
            raise
        self._give_back(connection)
        assert found is not None
        return int(found[0])

    async def _take(self) -> psycopg.AsyncConnection[Any]:
        """An idle connection, a new one while fewer than ``CONNECTIONS`` are open, or
        the next one given back."""
        while not self._idle and self._open >= CONNECTIONS:
            self._ready.clear()
            await self._ready.wait()
        if self._idle:
            return self._idle.pop()
        self._open += 1
        try:
            return await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        except BaseException:
            self._open -= 1
            self._ready.set()
            raise

    async def _close(self, connection: psycopg.AsyncConnection[Any]) -> None:
        """Close a connection taken from the pool; its place is free for a new one."""
        with contextlib.suppress(Exception):
            await connection.close()
        self._open -= 1
        self._ready.set()

    def _give_back(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self._idle.append(connection)
        self._ready.set()

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                await connection.close()
        self._open -= len(idle)

    async def close(self) -> None:
        await self._drop_idle()
