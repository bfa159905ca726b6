"""The SMTP server's writer: what the connections that commit filed mail promise."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.db import Database
from groupware.mail import delivery
from groupware.mail.writer import Writer
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
    (NORMAL may lose the last commits). Asked from inside a filing transaction, on the
    connection that commits it, before and after real mail is filed on it."""
    if not database.is_sqlite:
        pytest.skip("PostgreSQL commits are durable by its own settings (synchronous_commit)")
    writer = server.listening.handlers[0].writer

    def probe() -> int:
        return int(
            asyncio.run_coroutine_threadsafe(writer.file(_synchronous), server.loop).result(10)
        )

    assert probe() == FULL
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as client:
        client.send_message(message("skener@example.com", committed.bob.email, "Trajno"))
    assert inbox(database, committed.bob) == ["Trajno"]
    assert probe() == FULL


def test_every_sqlite_connection_commits_with_synchronous_full(database: Database) -> None:
    """Web forms, the API and CalDAV answer "saved" after their commit too."""
    if not database.is_sqlite:
        pytest.skip("a SQLite pragma")
    with database.transaction(actor_id=None, channel="cli") as session:
        assert _synchronous(session) == FULL


def test_a_bad_message_never_costs_the_others_their_delivery(
    live: object, committed: factories.Cast, database: Database
) -> None:
    """Messages filed together (also those that arrive while a batch is under way) are
    committed together; one that fails is filed alone, and only it fails."""
    bob = committed.bob

    def filing(n: int) -> Callable[[Session], int]:
        def file(session: Session) -> int:
            if n == 3:
                raise ValueError("a message the filing cannot take")
            raw = bytes(message("skener@example.com", bob.email, f"Poruka {n}"))
            user = session.get_one(User, bob.id)
            return delivery.store(
                session, raw, envelope_from="skener@example.com", envelope_to=[bob.email],
                recipients=[user], sender=None, mail_domain="groupware.local",
            )  # fmt: skip

        return file

    async def send_all() -> list[object]:
        writer = Writer(database)
        try:
            jobs = [writer.file(filing(n)) for n in range(8)]
            return await asyncio.gather(*jobs, return_exceptions=True)
        finally:
            writer.stop()

    results = asyncio.run(send_all())
    assert [type(r).__name__ for r in results] == ["int"] * 3 + ["RuntimeError"] + ["int"] * 4
    assert sorted(inbox(database, bob)) == sorted(f"Poruka {n}" for n in range(8) if n != 3)
