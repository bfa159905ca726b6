"""PostgreSQL: a plain message filed on the event loop as one statement.

Through the writer thread, each message waited on a chain: the hop to the thread, then
BEGIN, the insert and COMMIT as three round trips, each a wake-up of this process and
of PostgreSQL's on busy cores (bench/README.md, smtp_ingest). Here the message row, its
mailbox entries and its links to partners by a known address are written by one
data-modifying statement, autocommitted (so atomic), on a non-blocking libpq
connection that psycopg opened: no thread, and the event loop serves other connections
while it waits.

Only mail that needs nothing but these rows takes this path: no calendar part (iMIP),
no filing address, no deal tag in the subject, no outside recipient (the relay queue).
Anything else goes to the writer thread's general path, :func:`delivery.store`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer

from groupware.db import Database
from groupware.mail import delivery, filing
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
        SELECT id FROM partners WHERE email = ANY(%(outside)s::varchar[]) AND status <> 'merged'
        UNION SELECT partner_id FROM persons WHERE email = ANY(%(outside)s::varchar[])
    ) AS p(id)
)"""


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


@dataclass(frozen=True)
class _Statement:
    """A filing statement as the server prepares it: ``$n`` placeholders, each
    parameter's name in order. Every parameter's type is set by a cast or by its
    column, so it is prepared without types and sent as text (the raw message as
    binary)."""

    name: bytes
    sql: bytes
    names: tuple[str, ...]

    @classmethod
    def of(cls, name: str, sql: str) -> _Statement:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] is None:  # an escaped percent sign
                return "%"
            if match[1] not in names:
                names.append(match[1])
            return f"${names.index(match[1]) + 1}"

        return cls(name.encode(), _PLACEHOLDER.sub(number, sql).encode(), tuple(names))


class _Link:
    """A connection of the pool, with the statements it has prepared and the
    transformer that turns parameters into the protocol's bytes."""

    def __init__(self, connection: psycopg.AsyncConnection[Any]) -> None:
        self.connection = connection
        self.pgconn = connection.pgconn
        self.dumper = Transformer(connection)
        self.prepared: set[bytes] = set()


class FastFiler:
    """A few asynchronous, autocommitting connections of an SMTP server's event loop
    (one alone made the connections queue for it: each statement waits for its commit
    to reach the disk; several let PostgreSQL flush their commits together).

    The statement goes to libpq directly: prepared once per connection, then sent with
    its parameters and waited for on the event loop. Through psycopg's cursor the
    same statement took a third longer per message (1.1-1.4 ms against 0.8-0.9 ms,
    one at a time; bench/README.md, smtp_ingest), and the SMTP client waits for it."""

    def __init__(self, database: Database) -> None:
        url = database.engine.url.set(drivername="postgresql")
        self.conninfo = url.render_as_string(hide_password=False)
        sql, _names, self.processors = delivery.INSERT_MESSAGE.compiled(database.engine.dialect)
        # with the partners looked up by the outside addresses, and without (mail
        # between colleagues has none)
        self.with_links = _Statement.of("groupware_file", _FILING.format(message=sql, links=_LINKS))
        self.internal = _Statement.of(
            "groupware_file_internal", _FILING.format(message=sql, links="")
        )
        self._idle: list[_Link] = []
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
        if parsed.calendars or filing.tagged(parsed.subject, filing.kinds()):
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
        outside = filing.outside_addresses(addresses, mail_domain)
        statement = self.internal
        if outside:
            statement, params["outside"] = self.with_links, outside
        try:
            return await self._execute(statement, params)
        except psycopg.OperationalError:
            # a connection the server dropped meanwhile (all idle ones are gone now):
            # once more on a new one; a second failure means the database is away
            return await self._execute(statement, params)

    async def _execute(self, statement: _Statement, params: dict[str, Any]) -> int:
        link = await self._take()
        try:
            found = await self._run(link, statement, [params[n] for n in statement.names])
        except psycopg.OperationalError:
            await self._close(link)
            await self._drop_idle()
            raise
        except BaseException:
            # a message the database refused (its statement rolled back), or a
            # cancelled wait: the connection serves the next message if it is idle
            if link.pgconn.transaction_status == pq.TransactionStatus.IDLE:
                self._give_back(link)
            else:
                await self._close(link)
            raise
        self._give_back(link)
        return found

    async def _run(self, link: _Link, statement: _Statement, values: list[Any]) -> int:
        """Prepare ``statement`` on the link's connection if it is new there, run it
        with ``values``: the id it returns."""
        pgconn = link.pgconn
        if statement.name not in link.prepared:
            pgconn.send_prepare(statement.name, statement.sql)
            await _result(link, pq.ExecStatus.COMMAND_OK)
            link.prepared.add(statement.name)
        formats = [PyFormat.BINARY if isinstance(v, bytes) else PyFormat.TEXT for v in values]
        dumped = link.dumper.dump_sequence(values, formats)
        pgconn.send_query_prepared(statement.name, dumped, link.dumper.formats)
        result = await _result(link, pq.ExecStatus.TUPLES_OK)
        found = result.get_value(0, 0)
        assert found is not None
        return int(found)

    async def _take(self) -> _Link:
        """An idle connection, a new one while fewer than ``CONNECTIONS`` are open, or
        the next one given back."""
        while not self._idle and self._open >= CONNECTIONS:
            self._ready.clear()
            await self._ready.wait()
        if self._idle:
            return self._idle.pop()
        self._open += 1
        try:
            connection = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
        except BaseException:
            self._open -= 1
            self._ready.set()
            raise
        return _Link(connection)

    async def _close(self, link: _Link) -> None:
        """Close a connection taken from the pool; its place is free for a new one."""
        with contextlib.suppress(Exception):
            await link.connection.close()
        self._open -= 1
        self._ready.set()

    def _give_back(self, link: _Link) -> None:
        self._idle.append(link)
        self._ready.set()

    async def _drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for link in idle:
            with contextlib.suppress(Exception):
                await link.connection.close()
        self._open -= len(idle)

    async def close(self) -> None:
        await self._drop_idle()


async def _result(link: _Link, expected: pq.ExecStatus) -> pq.abc.PGresult:
    """Send what libpq holds for the link's connection, wait for the statement's
    result (its error raised)."""
    pgconn = link.pgconn
    while pgconn.flush():  # a large message: more than the socket takes at once
        # what the server says meanwhile is read, so neither side waits on the other
        if await _wait(pgconn.socket, write=True):
            pgconn.consume_input()
    results: list[pq.abc.PGresult] = []
    while True:
        pgconn.consume_input()
        if pgconn.is_busy():
            await _wait(pgconn.socket)
            continue
        result = pgconn.get_result()
        if result is None:
            break
        results.append(result)
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise psycopg.errors.error_from_result(result, encoding=link.connection.info.encoding)
    if len(results) != 1 or results[0].status != expected:
        raise psycopg.InterfaceError(f"unexpected results: {[r.status for r in results]}")
    return results[0]


async def _wait(fileno: int, *, write: bool = False) -> bool:
    """Wait until the socket ``fileno`` can be read (or, with ``write``, either read or
    written): whether it can be read."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[bool] = loop.create_future()

    def wake(readable: bool) -> None:
        if not ready.done():
            ready.set_result(readable)

    loop.add_reader(fileno, wake, True)
    if write:
        loop.add_writer(fileno, wake, False)
    try:
        return await ready
    finally:
        loop.remove_reader(fileno)
        if write:
            loop.remove_writer(fileno)
