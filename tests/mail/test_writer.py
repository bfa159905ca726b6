"""The SMTP server's writer: what the connections that commit filed mail promise."""

from __future__ import annotations

import asyncio
import smtplib

import pytest
from sqlalchemy.orm import Session

from groupware.db import Database
from tests import factories
from tests.mail.conftest import Server, inbox, message

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def _synchronous(session: Session) -> int:
    """The filing transaction's own connection's ``synchronous`` level."""
    return int(session.connection().exec_driver_sql("PRAGMA synchronous").scalar_one())


def test_filed_mail_is_committed_with_synchronous_full_on_sqlite(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    """250 is answered after the commit, so the commit must survive an OS crash: in
    WAL mode SQLite syncs the log at every commit only with ``synchronous=FULL``
    (NORMAL may lose the last commits). Both ways a message is filed are asked, from
    inside a filing transaction, on the connection that commits it."""
    if not database.is_sqlite:
        pytest.skip("PostgreSQL commits are durable by its own settings (synchronous_commit)")
    writer = server.listening.handlers[0].writer

    async def probe(small: bool) -> int:
        return int(await writer.file(_synchronous, small=small))

    on_loop = asyncio.run_coroutine_threadsafe(probe(True), server.loop).result(10)
    in_thread = asyncio.run_coroutine_threadsafe(probe(False), server.loop).result(10)
    assert (on_loop, in_thread) == (FULL, FULL)
    # and the same writer still files real mail over SMTP on those connections
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as client:
        client.send_message(message("skener@example.com", committed.bob.email, "Trajno"))
    assert inbox(database, committed.bob) == ["Trajno"]
    assert asyncio.run_coroutine_threadsafe(probe(True), server.loop).result(10) == FULL


def test_every_sqlite_connection_commits_with_synchronous_full(database: Database) -> None:
    """Web forms, the API and CalDAV answer "saved" after their commit too."""
    if not database.is_sqlite:
        pytest.skip("a SQLite pragma")
    with database.transaction(actor_id=None, channel="cli") as session:
        assert _synchronous(session) == FULL
