"""PostgreSQL's fast filing (one statement on the event loop) keeps exactly what the
general path keeps: the message row, mailbox entries, partner links by known address;
and leaves to the general path what it cannot do."""

from __future__ import annotations

import asyncio
import os
import socket
from email.message import EmailMessage

import psycopg
import pytest
from sqlalchemy import select

from groupware.access.policy import SYSTEM
from groupware.accounts.models import User
from groupware.crm.models import Person
from groupware.db import Database
from groupware.mail import delivery
from groupware.mail.fastfile import CONNECTIONS, FastFiler
from groupware.mail.models import MailEntry, MailLink, MailMessage
from tests import factories
from tests.factories import MAIL_DOMAIN, make_partner
from tests.mail.conftest import make_deal, message

SQLITE_FILES_IN_ITS_WRITER = (
    "the fast path is PostgreSQL's own (psycopg's pool, one autocommitted statement); on "
    "SQLite every message goes through the writer thread, whose filing and keeping a "
    "message once are tested in test_smtp.py and test_filing_kinds.py; this file runs in "
    "make test's PostgreSQL pass"
)


@pytest.fixture(autouse=True)
def _postgresql_only(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip(SQLITE_FILES_IN_ITS_WRITER)


COLUMNS = [c.key for c in MailMessage.__table__.columns if c.key not in {"id", "received_at"}]


def kept(
    database: Database, message_id: int
) -> tuple[dict[str, object], list[object], list[object]]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.get_one(MailMessage, message_id)
        entries = session.execute(
            select(MailEntry.user_id, MailEntry.folder, MailEntry.seen, MailEntry.private)
            .where(MailEntry.message_id == message_id)
            .order_by(MailEntry.user_id, MailEntry.folder)
        ).all()
        links = session.execute(
            select(MailLink.record_type, MailLink.record_id, MailLink.how)
            .where(MailLink.message_id == message_id)
            .order_by(MailLink.record_id)
        ).all()
        return {c: getattr(row, c) for c in COLUMNS}, list(entries), list(links)


async def alice_to_bob(
    filer: FastFiler,
    cast: factories.Cast,
    raw: bytes,
    *,
    recipient_id: int | None = None,
    key: str | None = None,
) -> int | None:
    """File ``raw`` from alice to bob (or to the user ``recipient_id``) on ``filer``."""
    return await filer.file(
        raw,
        envelope_from=cast.alice.email,
        envelope_to=[cast.bob.email],
        recipient_ids=[cast.bob.id if recipient_id is None else recipient_id],
        sender_id=cast.alice.id,
        mail_domain=MAIL_DOMAIN,
        key=key,
    )


def test_the_fast_path_keeps_what_the_general_path_keeps(
    live: object, committed: factories.Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = make_partner(session, SYSTEM, "Konzum d.d.")
        session.add(Person(partner_id=partner.id, last_name="Horvat", email="ivan@konzum.example"))
        session.flush()
        partner_id = partner.id
    mail = EmailMessage()
    mail["From"] = "Ivan Horvat <ivan@konzum.example>"
    mail["To"] = f"{committed.alice.email}, {committed.bob.email}"
    mail["Subject"] = "Narudžba za prosinac"
    mail["Message-ID"] = "<n1@konzum.example>"
    mail["Date"] = "Fri, 27 Nov 2026 10:00:00 +0100"
    mail.set_content("Poštovani,\nšaljemo narudžbu.\n")
    raw = bytes(mail)
    alice, bob = committed.alice, committed.bob
    envelope = {"envelope_from": "ivan@konzum.example", "envelope_to": [alice.email, bob.email]}

    async def fast() -> int | None:
        filer = FastFiler(database)
        try:
            return await filer.file(
                raw,
                **envelope,
                recipient_ids=[alice.id, bob.id, alice.id],
                sender_id=bob.id,
                mail_domain=MAIL_DOMAIN,
            )
        finally:
            await filer.close()

    fast_id = asyncio.run(fast())
    assert fast_id is not None
    with database.transaction(actor_id=None, channel="smtp") as session:
        users = [session.get_one(User, alice.id), session.get_one(User, bob.id)]
        general_id = delivery.store(
            session,
            raw,
            **envelope,
            recipients=[*users, users[0]],
            sender=users[1],
            mail_domain=MAIL_DOMAIN,
        )
    assert kept(database, fast_id) == kept(database, general_id)
    _fields, entries, links = kept(database, fast_id)
    assert [(e[0], e[1]) for e in entries] == [
        (alice.id, "inbox"),
        (bob.id, "inbox"),
        (bob.id, "sent"),
    ]
    assert links == [("partners", partner_id, "contact")]

    with database.transaction(actor_id=None, channel="cli") as session:
        deal_id = make_deal(session, session.get_one(User, alice.id), partner_id).id
    # a deal's tag and its filing address (the address before the tag), a partner's
    # filing address and its person (the address before the contact): alike too
    tagged = raw.replace(b"Narud", f"[D-{deal_id}] [D-{10**8}] Narud".encode())
    filed = [("deals", deal_id), ("partners", partner_id), ("deals", 10**8)]

    async def fast_filed() -> int | None:
        filer = FastFiler(database)
        try:
            return await filer.file(
                tagged,
                **envelope,
                recipient_ids=[alice.id],
                sender_id=None,
                mail_domain=MAIL_DOMAIN,
                filed=filed,
            )
        finally:
            await filer.close()

    fast_id = asyncio.run(fast_filed())
    assert fast_id is not None
    with database.transaction(actor_id=None, channel="smtp") as session:
        general_id = delivery.store(
            session,
            tagged,
            **envelope,
            recipients=[session.get_one(User, alice.id)],
            sender=None,
            filed=filed,
            mail_domain=MAIL_DOMAIN,
        )
    assert kept(database, fast_id) == kept(database, general_id)
    assert set(kept(database, fast_id)[2]) == {
        ("partners", partner_id, "address"),
        ("deals", deal_id, "address"),
    }


def test_mail_between_colleagues_is_kept_alike(
    live: object, committed: factories.Cast, database: Database
) -> None:
    alice, bob = committed.alice, committed.bob
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = alice.email, bob.email, "Sastanak u 10"
    mail.set_content("Vidimo se.\n")
    raw = bytes(mail)
    envelope = {"envelope_from": alice.email, "envelope_to": [bob.email]}

    async def fast() -> int | None:
        filer = FastFiler(database)
        try:
            return await filer.file(
                raw, **envelope, recipient_ids=[bob.id], sender_id=alice.id, mail_domain=MAIL_DOMAIN
            )
        finally:
            await filer.close()

    fast_id = asyncio.run(fast())
    assert fast_id is not None
    with database.transaction(actor_id=None, channel="smtp") as session:
        general_id = delivery.store(
            session,
            raw,
            **envelope,
            recipients=[session.get_one(User, bob.id)],
            sender=session.get_one(User, alice.id),
            mail_domain=MAIL_DOMAIN,
        )
    assert kept(database, fast_id) == kept(database, general_id)
    assert kept(database, fast_id)[2] == []


def test_a_message_the_database_refuses_fails_alone(
    live: object, committed: factories.Cast, database: Database
) -> None:
    """Messages under way at once: the refused ones fail, the others are kept, and the
    refused ones' connections serve the messages after them."""
    alice, bob = committed.alice, committed.bob
    gone = 10**9  # no such user: its mailbox entry breaks a foreign key
    refused = {2, 4, 5, 6, 7}  # more than the filer's connections

    async def send(filer: FastFiler, n: int) -> int | None:
        raw = bytes(message(alice.email, bob.email, f"Poruka {n}"))
        return await alice_to_bob(
            filer, committed, raw, recipient_id=gone if n in refused else None
        )

    async def file_all() -> tuple[list[object], int | None]:
        filer = FastFiler(database)
        try:
            results = await asyncio.gather(
                *(send(filer, n) for n in range(8)), return_exceptions=True
            )
            return results, await asyncio.wait_for(send(filer, 8), timeout=20)
        finally:
            await filer.close()

    results, after = asyncio.run(file_all())
    for n, result in enumerate([*results, after]):
        if n in refused:
            assert isinstance(result, psycopg.errors.ForeignKeyViolation)
        else:
            assert isinstance(result, int)
            assert kept(database, result)[0]["subject"] == f"Poruka {n}"


def test_a_large_message_sent_in_pieces_is_kept_exactly(
    live: object, committed: factories.Cast, database: Database
) -> None:
    """A message near the fast path's limit, on a connection whose socket takes a few
    kilobytes at a time: the filer waits for the socket between the pieces."""
    alice, bob = committed.alice, committed.bob
    raw = bytes(message(alice.email, bob.email, "Cjenik", "Šifra;Naziv;Cijena\n" * 12_000))
    assert len(raw) > 200_000

    async def fast() -> int | None:
        filer = FastFiler(database)
        try:
            await filer.open(wait=True)  # one connection, narrowed here
            async with filer.pool.connection() as connection:
                with socket.socket(fileno=os.dup(connection.pgconn.socket)) as sock:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            assert filer.pool.get_stats()["pool_size"] == 1  # the next message takes it
            return await asyncio.wait_for(alice_to_bob(filer, committed, raw), timeout=30)
        finally:
            await filer.close()

    fast_id = asyncio.run(fast())
    assert fast_id is not None
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        row = session.get_one(MailMessage, fast_id)
        assert row.raw == raw
        assert row.text.count("Šifra;Naziv;Cijena") == 12_000


def test_a_filing_cancelled_while_under_way_frees_its_connection(
    live: object, committed: factories.Cast, database: Database
) -> None:
    """A client that hangs up while its message waits in PostgreSQL (here on a row
    lock): that connection is closed, and the next messages get connections."""
    alice, bob = committed.alice, committed.bob

    async def send(filer: FastFiler, n: int) -> int | None:
        raw = bytes(message(alice.email, bob.email, f"Poruka {n}"))
        return await alice_to_bob(filer, committed, raw)

    with database.engine.connect() as holder:
        # bob's row locked: a mailbox entry's foreign key check waits for it
        holder.execute(select(User.id).where(User.id == bob.id).with_for_update())

        def waiting() -> int:
            with database.engine.connect() as look:
                found = look.exec_driver_sql(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                ).scalar()
                return int(found or 0)

        async def cancel_then_file() -> list[int | None]:
            filer = FastFiler(database)
            try:
                stuck = [asyncio.create_task(send(filer, n)) for n in range(CONNECTIONS)]
                for _ in range(200):
                    if waiting() == CONNECTIONS:
                        break
                    await asyncio.sleep(0.05)
                assert waiting() == CONNECTIONS
                for task in stuck:
                    task.cancel()
                await asyncio.gather(*stuck, return_exceptions=True)
                assert all(task.cancelled() for task in stuck)
                holder.rollback()
                return [
                    await asyncio.wait_for(send(filer, n), timeout=20)
                    for n in range(CONNECTIONS, CONNECTIONS + 2)
                ]
            finally:
                await filer.close()

        filed = asyncio.run(cancel_then_file())
    for n, message_id in enumerate(filed, start=CONNECTIONS):
        assert message_id is not None
        assert kept(database, message_id)[0]["subject"] == f"Poruka {n}"


def kept_with_key(database: Database, key: str) -> list[tuple[int, int]]:
    """(message id, its mailbox entries) of every message kept with ``key``."""
    with database.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT m.id, count(e.id) FROM mail_messages m"
            " LEFT JOIN mail_entries e ON e.message_id = m.id"
            " WHERE m.delivery_key = %(key)s GROUP BY m.id",
            {"key": key},
        ).all()
        return [(int(row[0]), int(row[1])) for row in rows]


def terminate(database: Database, pid: int) -> None:
    with database.engine.connect() as connection:
        assert connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar()
        connection.commit()


def test_a_filing_tried_again_after_a_lost_connection_is_kept_once(
    live: object, committed: factories.Cast, database: Database
) -> None:
    """The connection dies between two attempts at one message (whether the first
    committed is not known then): the second attempt, on a new connection, finds the
    message by its delivery key; a message of its own is kept as before."""
    alice, bob = committed.alice, committed.bob
    mail = message(alice.email, bob.email, "Jednom")
    mail["Message-ID"] = "<jednom@example.com>"
    raw = bytes(mail)
    key = delivery.delivery_key(raw, alice.email, [bob.email])

    async def twice() -> tuple[int | None, int | None, int | None]:
        filer = FastFiler(database)
        try:
            first = await alice_to_bob(filer, committed, raw, key=key)
            async with filer.pool.connection() as connection:
                pid = connection.info.backend_pid
            await asyncio.to_thread(terminate, database, pid)
            # the pool still holds the dead connection: the statement fails on it and
            # is sent again on a new one
            again = await asyncio.wait_for(alice_to_bob(filer, committed, raw, key=key), 20)
            other = await alice_to_bob(filer, committed, bytes(message(alice.email, bob.email)))
            return first, again, other
        finally:
            await filer.close()

    first, again, other = asyncio.run(twice())
    assert first is not None and again == first
    assert kept_with_key(database, key) == [(first, 2)]  # bob's inbox, alice's sent
    assert other is not None and other != first


def test_a_filing_whose_first_attempt_died_before_its_commit_is_kept(
    live: object, committed: factories.Cast, database: Database
) -> None:
    """The first attempt waits on a row lock when its connection is killed (nothing
    committed): the attempt on a new connection keeps the message, once."""
    alice, bob = committed.alice, committed.bob
    mail = message(alice.email, bob.email, "Prekinuto")
    mail["Message-ID"] = "<prekinuto@example.com>"
    raw = bytes(mail)
    key = delivery.delivery_key(raw, alice.email, [bob.email])

    with database.engine.connect() as holder:
        holder.execute(select(User.id).where(User.id == bob.id).with_for_update())

        def waiting_pid() -> int | None:
            with database.engine.connect() as look:
                found = look.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                ).scalar()
                return None if found is None else int(found)

        async def killed_then_kept() -> int | None:
            filer = FastFiler(database)
            try:
                task = asyncio.create_task(alice_to_bob(filer, committed, raw, key=key))
                pid = None
                for _ in range(200):
                    if (pid := await asyncio.to_thread(waiting_pid)) is not None:
                        break
                    await asyncio.sleep(0.05)
                assert pid is not None
                await asyncio.to_thread(terminate, database, pid)
                await asyncio.sleep(0.2)  # the retry is under way, waiting on the lock
                holder.rollback()
                return await asyncio.wait_for(task, 20)
            finally:
                await filer.close()

        filed = asyncio.run(killed_then_kept())
    assert filed is not None
    assert kept_with_key(database, key) == [(filed, 2)]


def test_a_statement_that_does_not_finish_in_time_is_given_up(
    live: object, committed: factories.Cast, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every wait is bounded: a statement stuck on a lock raises TimeoutError (the SMTP
    client gets 451) and its connection serves the next message."""
    from groupware.mail import fastfile

    monkeypatch.setattr(fastfile, "STATEMENT_SECONDS", 0.5)
    alice, bob = committed.alice, committed.bob

    with database.engine.connect() as holder:
        holder.execute(select(User.id).where(User.id == bob.id).with_for_update())

        async def late_then_filed() -> tuple[BaseException | None, int | None]:
            filer = FastFiler(database)
            try:
                raw = bytes(message(alice.email, bob.email, "Kasno"))
                try:
                    await asyncio.wait_for(alice_to_bob(filer, committed, raw), 20)
                    late = None
                except TimeoutError as exc:
                    late = exc
                holder.rollback()
                raw = bytes(message(alice.email, bob.email, "Na vrijeme"))
                return late, await asyncio.wait_for(alice_to_bob(filer, committed, raw), 20)
            finally:
                await filer.close()

        late, filed = asyncio.run(late_then_filed())
    assert isinstance(late, TimeoutError)
    assert filed is not None
    assert kept(database, filed)[0]["subject"] == "Na vrijeme"
