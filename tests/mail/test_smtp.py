"""The SMTP server over a real socket with ``smtplib``: STARTTLS and AUTH, local
delivery, no open relay, no spoofing, the size limit, and 451 while the database is
down (delivered after a retry)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import smtplib
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, select

from groupware import stream
from groupware.access.policy import SYSTEM
from groupware.accounts.credentials import create_credential
from groupware.accounts.models import Team, User
from groupware.caldav import store
from groupware.crm.models import Partner
from groupware.db import Database
from groupware.deals.models import Deal
from groupware.mail import addresses, smtp
from groupware.mail.models import MailEntry, MailLink, MailMessage
from groupware.settings import Settings
from tests import factories
from tests.conftest import _free_port
from tests.factories import PASSWORD, make_partner
from tests.mail.conftest import Server, inbox, logged_in, make_deal, message, tls


def test_starttls_auth_and_local_delivery(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    alice, bob = committed.alice, committed.bob
    with logged_in(server, "alice") as client:
        refused = client.send_message(message(alice.email, bob.email, "Sastanak"))
        assert refused == {}
    assert inbox(database, bob) == ["Sastanak"]
    assert inbox(database, alice, "sent") == ["Sastanak"]
    with database.transaction(actor_id=None, channel="cli") as session:
        raw = session.scalar(select(MailMessage.raw))
        assert raw is not None and b"Subject: Sastanak" in raw


def test_auth_needs_tls_and_a_good_password_and_takes_app_passwords(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.ehlo()
        assert not client.has_extn("auth")  # not before STARTTLS
    with pytest.raises(smtplib.SMTPAuthenticationError):
        logged_in(server, "alice", "wrong")
    with database.transaction(actor_id=None, channel="cli") as session:
        secret, _row = create_credential(
            session, session.get(User, committed.alice.id), kind="app_password", name="Thunderbird"
        )
    with logged_in(server, "alice", secret) as client:
        assert client.noop()[0] == 250


def _auth_plain(client: smtplib.SMTP, username: str, password: str) -> tuple[int, bytes]:
    """One AUTH PLAIN (smtplib's ``login`` tries every mechanism in turn)."""
    blob = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
    return client.docmd("AUTH", f"PLAIN {blob}")


def _connected(server: Server, source: str = "127.0.0.1") -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=20, source_address=(source, 0))
    client.starttls(context=tls())
    client.ehlo()
    return client


@pytest.fixture
def slow(database: Database, settings: Settings, committed: factories.Cast) -> Iterator[Server]:
    """An SMTP server whose login throttle waits ten minutes at first (no test outlasts
    a wait)."""
    running = Server(database, dataclasses.replace(settings, login_first_delay_seconds=600))
    yield running
    running.stop()


def test_a_connection_is_closed_after_three_failed_logins(slow: Server) -> None:
    with _connected(slow) as client:
        assert _auth_plain(client, "alice", "one")[0] == 535
        assert _auth_plain(client, "alice", "two")[0] == 535
        code, text = _auth_plain(client, "alice", "three")
        assert (code, text) == (535, b"5.7.8 Authentication credentials invalid")
        assert client.getreply() == (421, b"4.7.0 Too many failed logins; closing the connection")
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()


def test_a_throttled_login_is_answered_454_and_elsewhere_the_account_works(
    slow: Server, settings: Settings
) -> None:
    """While throttled the password is not checked, and the reply is temporary: a mail
    program must not take it for a wrong password and ask for another one."""
    for _ in range(settings.login_free_failures):
        with _connected(slow) as client:
            assert _auth_plain(client, "bob", "stara lozinka")[0] == 535
    with _connected(slow) as client:
        code, text = _auth_plain(client, "bob", PASSWORD)
        assert code == 454
        assert text.startswith(b"4.7.0 Too many failed logins from your address; try again in ")
    with _connected(slow, "127.0.0.2") as client:  # bob from another address
        assert _auth_plain(client, "bob", PASSWORD)[0] == 235


def test_parallel_wrong_logins_check_no_more_passwords_than_the_free_failures(
    slow: Server, settings: Settings
) -> None:
    start = threading.Barrier(20)

    def wrong(_n: int) -> int:
        with _connected(slow) as client:
            start.wait(30)
            return _auth_plain(client, "charlie", "nope")[0]

    with ThreadPoolExecutor(20) as pool:
        codes = sorted(pool.map(wrong, range(20)))
    free = settings.login_free_failures
    assert codes == [454] * (20 - free) + [535] * free


def test_no_open_relay_and_no_spoofing(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    alice, bob = committed.alice, committed.bob
    with logged_in(server, "alice") as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as spoof:
            client.send_message(message(bob.email, alice.email), from_addr=bob.email)
        assert spoof.value.smtp_code == 553
        with pytest.raises(smtplib.SMTPRecipientsRefused) as outside:
            client.send_message(message(alice.email, "kupac@example.com"))
        assert outside.value.recipients["kupac@example.com"][0] == 550
        with pytest.raises(smtplib.SMTPRecipientsRefused) as unknown:
            client.send_message(message(alice.email, f"nobody@{server.settings.mail_domain}"))
        assert unknown.value.recipients[f"nobody@{server.settings.mail_domain}"][0] == 550
    # Without logging in, from the trusted local network: local delivery only.
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as relay:
            client.send_message(message("x@example.com", "kupac@example.com"))
        assert relay.value.recipients["kupac@example.com"][0] == 554
        client.send_message(message("skener@example.com", bob.email, "Sken"))
    assert inbox(database, bob) == ["Sken"]


def test_a_logged_in_sender_may_put_only_their_own_addresses_in_from_and_sender(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    """MAIL FROM is alice's, the header says bob: refused at the end of DATA, whichever
    way the message would be filed (a plain one goes the fast way on PostgreSQL, one
    with a deal tag the general way), and nothing is kept."""
    alice, bob, domain = committed.alice, committed.bob, server.settings.mail_domain
    with database.transaction(actor_id=None, channel="cli") as session:
        addresses.add_team_address(session, session.get_one(Team, committed.north.id),
                                   "sjever", mail_domain=domain)  # fmt: skip
        partner: Partner = make_partner(session, SYSTEM, "Konzum d.d.")
        deal_id = make_deal(session, committed.alice, partner.id).id
    forged = [
        message(f"Bob <{bob.email}>", committed.charlie.email, "Kao Bob"),
        message(bob.email, committed.charlie.email, f"Kao Bob [D-{deal_id}]"),
        message(bob.email, f"deal-{deal_id}@{domain}", "Kao Bob, na posao"),
    ]
    with_sender = message(alice.email, committed.charlie.email, "Sender")
    with_sender["Sender"] = bob.email
    with logged_in(server, "alice") as client:
        for mail in [*forged, with_sender]:
            with pytest.raises(smtplib.SMTPDataError) as refused:
                client.send_message(mail, from_addr=alice.email)
            assert refused.value.smtp_code == 550
            reason = refused.value.smtp_error.decode()
            assert reason.startswith("5.7.1 The ") and bob.email in reason, reason
            assert "not one of your addresses" in reason
        # its own address, the team's and a plus part go through on the same connection
        client.send_message(message(f"Sjever <sjever@{domain}>", committed.charlie.email, "Tim"))
        client.send_message(message(f"alice+x@{domain}", committed.charlie.email, "Plus"))
    assert inbox(database, committed.charlie) == ["Tim", "Plus"]
    with database.transaction(actor_id=None, channel="cli") as session:
        kept = session.scalars(select(MailMessage.from_address).order_by(MailMessage.id))
        assert list(kept) == [f"sjever@{domain}", f"alice+x@{domain}"]
    # Without a login, from the trusted network (a scanner, another company server):
    # today's rule, local delivery of whatever the header says.
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.send_message(message(bob.email, committed.charlie.email, "Sken"))
    assert inbox(database, committed.charlie) == ["Tim", "Plus", "Sken"]


def test_unauthenticated_clients_outside_the_trusted_networks_must_log_in(
    committed: factories.Cast, database: Database, settings: Settings, live: object
) -> None:
    strict = dataclasses.replace(settings, smtp_trusted_networks=("10.99.0.0/16",))
    running = Server(database, strict)
    try:
        with smtplib.SMTP("127.0.0.1", running.port, timeout=10) as client:
            with pytest.raises(smtplib.SMTPSenderRefused) as refused:
                client.send_message(message("x@example.com", committed.bob.email))
            assert refused.value.smtp_code == 530
    finally:
        running.stop()


def test_the_size_limit(server: Server, committed: factories.Cast) -> None:
    with logged_in(server, "alice") as client:
        big = message(committed.alice.email, committed.bob.email, body="x" * 1_200_000)
        with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as caught:
            client.send_message(big)
        assert caught.value.smtp_code == 552


def test_451_while_the_database_is_down_and_delivered_after_a_retry(
    server: Server, committed: factories.Cast, database: Database, settings: Settings
) -> None:
    """A server whose database cannot be reached (a PostgreSQL address nobody answers
    at) defers with 451; the same message to the working server is delivered."""
    bob = committed.bob
    unreachable = Database(
        dataclasses.replace(settings, database_url="postgresql://nobody@127.0.0.1:1/none")
    )
    down = Server(unreachable, settings)
    try:
        with smtplib.SMTP("127.0.0.1", down.port, timeout=20) as client:
            with pytest.raises(smtplib.SMTPRecipientsRefused) as deferred:
                client.send_message(message("skener@example.com", bob.email, "Ponovno"))
            assert deferred.value.recipients[bob.email][0] == 451
    finally:
        down.stop()
        unreachable.dispose()
    assert inbox(database, bob) == []
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:  # the retry
        client.send_message(message("skener@example.com", bob.email, "Ponovno"))
    assert inbox(database, bob) == ["Ponovno"]


def test_mail_to_a_filing_address_or_with_the_tag_is_filed_on_the_deal(
    server: Server, committed: factories.Cast, database: Database
) -> None:

    domain = server.settings.mail_domain
    with database.transaction(actor_id=None, channel="cli") as session:
        partner: Partner = make_partner(session, SYSTEM, "Konzum d.d.")
        deal = make_deal(session, committed.alice, partner.id)
        deal_id = deal.id
    alice, bob = committed.alice, committed.bob
    with logged_in(server, "alice") as client:
        client.send_message(message(alice.email, f"deal-{deal_id}@{domain}", "Ponuda poslana"))
        client.send_message(message(alice.email, bob.email, f"Re: cijene [D-{deal_id}]"))
        client.send_message(message(alice.email, f"bob+deal-{deal_id}@{domain}", "Za Boba"))
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.send_message(message(alice.email, f"deal-999999@{domain}", "Nema"))
    assert inbox(database, bob) == [f"Re: cijene [D-{deal_id}]", "Za Boba"]
    with database.transaction(actor_id=None, channel="cli") as session:
        links = sorted(session.execute(select(MailLink.how, MailLink.record_id)).all())
        assert links == [("address", deal_id), ("address", deal_id), ("tag", deal_id)]
        row = session.get(Deal, deal_id)
        assert row is not None
        where = stream.Target("deals", deal_id, row)
        mails = [e.title for e in stream.read(session, SYSTEM, where, kinds=["mail"]).items]
        assert sorted(mails) == sorted(["Ponuda poslana", f"Re: cijene [D-{deal_id}]", "Za Boba"])


def test_an_invitation_by_mail_lands_in_the_recipient_s_calendar(
    server: Server, committed: factories.Cast, database: Database
) -> None:

    alice, bob = committed.alice, committed.bob
    invitation = message(alice.email, bob.email, "Poziv: pregovori")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
        "UID:poziv-1@groupware\r\nDTSTAMP:20261101T090000Z\r\nDTSTART:20261210T090000Z\r\n"
        f"DTEND:20261210T100000Z\r\nSUMMARY:Pregovori\r\nORGANIZER:mailto:{alice.email}\r\n"
        f"ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:{bob.email}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    invitation.add_attachment(
        ics.encode(), maintype="text", subtype="calendar", params={"method": "REQUEST"}
    )
    with logged_in(server, "alice") as client:
        client.send_message(invitation)
    with database.transaction(actor_id=None, channel="cli") as session:
        calendar = store.ensure_defaults(session, session.get(User, bob.id))[0]
        assert [
            "Pregovori" in (row.ics or "") for row in store.live_items(session, calendar.id)
        ] == [True]


def test_an_idle_connection_is_closed_and_a_busy_one_is_not(
    committed: factories.Cast, database: Database, settings: Settings
) -> None:
    loop = asyncio.new_event_loop()
    port = _free_port()
    make, _context, handler = smtp.smtp_factory(database, settings, idle=0.6)
    server = loop.run_until_complete(loop.create_server(make, "127.0.0.1", port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            for _ in range(6):  # busy for twice the idle time
                assert client.noop()[0] == 250
                time.sleep(0.2)
            time.sleep(1.2)
            with pytest.raises(smtplib.SMTPServerDisconnected):
                client.noop()
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        handler.writer.stop()
        if handler.fast is not None:
            loop.run_until_complete(handler.fast.close())
        loop.close()


def _raw_session(port: int, data: list[bytes], pause: float = 0.0) -> list[bytes]:
    """A hand-typed SMTP session from the trusted network (the last piece ends with
    QUIT): the server's replies."""
    import socket

    replies: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        replies.append(reader.readline())
        for piece in data:
            sock.sendall(piece)
            if pause:
                time.sleep(pause)
        while not replies[-1].startswith(b"221"):
            line = reader.readline()
            if not line:
                break
            replies.append(line)
    return replies


def stored(database: Database) -> list[bytes]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return list(session.scalars(select(MailMessage.raw).order_by(MailMessage.id)))


def test_the_data_ends_only_at_a_lone_dot_line(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    bob = committed.bob.email.encode()
    envelope = [b"HELO x\r\n", b"MAIL FROM:<skener@example.com>\r\n", b"RCPT TO:<" + bob + b">\r\n"]
    smuggled = (
        b"Subject: one\r\n\r\nbody\n.\nMAIL FROM:<ceo@example.com>\r\n"
        b"line\r.\rmore\r\n"
        b"..stuffed\r\n"
    )
    replies = _raw_session(server.port, [*envelope, b"DATA\r\n", smuggled, b".\r\nQUIT\r\n"])
    assert [r[:3] for r in replies] == [b"220", b"250", b"250", b"250", b"354", b"250", b"221"]
    # one message, the would-be second one part of its body; the stuffed dot taken off
    assert stored(database) == [
        b"Subject: one\r\n\r\nbody\n.\nMAIL FROM:<ceo@example.com>\r\nline\r.\rmore\r\n.stuffed\r\n"
    ]


def test_the_end_of_data_split_across_packets_and_an_empty_message(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    bob = committed.bob.email.encode()
    envelope = [b"HELO x\r\n", b"MAIL FROM:<skener@example.com>\r\n", b"RCPT TO:<" + bob + b">\r\n"]
    pieces = [*envelope, b"DATA\r\n", b"Subject: two\r\n\r\nx\r", b"\n", b".", b"\r", b"\n"]
    replies = _raw_session(server.port, [*pieces, b"QUIT\r\n"], pause=0.05)
    assert [r[:3] for r in replies][-2:] == [b"250", b"221"]
    replies = _raw_session(server.port, [*envelope, b"DATA\r\n", b".\r\n", b"QUIT\r\n"])
    assert [r[:3] for r in replies][-2:] == [b"250", b"221"]
    assert stored(database) == [b"Subject: two\r\n\r\nx\r\n", b""]


def test_a_line_over_1000_characters_is_refused(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    bob = committed.bob.email.encode()
    envelope = [b"HELO x\r\n", b"MAIL FROM:<skener@example.com>\r\n", b"RCPT TO:<" + bob + b">\r\n"]
    long_line = b"x" * 1000 + b"\r\n"
    replies = _raw_session(
        server.port, [*envelope, b"DATA\r\n", long_line, b".\r\n", b"NOOP\r\nQUIT\r\n"]
    )
    assert [r[:3] for r in replies][-3:] == [b"500", b"250", b"221"]
    ok_line = b"x" * 998 + b"\r\n"
    replies = _raw_session(server.port, [*envelope, b"DATA\r\n", ok_line, b".\r\nQUIT\r\n"])
    assert [r[:3] for r in replies][-2:] == [b"250", b"221"]
    assert stored(database) == [ok_line]


def test_a_message_waits_for_another_writer_s_lock_and_is_delivered(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    """On SQLite, while another connection holds the write lock, the writer thread
    waits for it (no 451, nothing lost)."""
    if not database.is_sqlite:
        pytest.skip(
            "PostgreSQL has no database-wide write lock to wait for (it locks rows); "
            "this runs in make test's SQLite pass"
        )
    bob = committed.bob
    holder = database.engine.execution_options(sqlite_immediate=True).connect()
    holder.begin()  # BEGIN IMMEDIATE: the write lock is ours until the rollback
    release = threading.Timer(1.0, holder.rollback)
    release.start()
    try:
        started = time.monotonic()
        with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as client:
            client.send_message(message("skener@example.com", bob.email, "Zaključano"))
        assert time.monotonic() - started >= 0.9
    finally:
        release.join()
        holder.close()
    assert inbox(database, bob) == ["Zaključano"]
    with smtplib.SMTP("127.0.0.1", server.port, timeout=20) as client:
        client.send_message(message("skener@example.com", bob.email, "Slobodno"))
    assert inbox(database, bob) == ["Zaključano", "Slobodno"]


def test_a_recipient_removed_between_rcpt_and_data_defers_the_message(
    server: Server, committed: factories.Cast, database: Database
) -> None:
    """The address was looked up (and remembered) at RCPT; the user is gone by the time
    the message is filed: 451, so the sender tries again and RCPT answers anew."""
    alice = committed.alice
    with database.transaction(actor_id=None, channel="cli") as session:
        gone = factories.make_user(session, "gone")
        address = gone.email
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:
        client.send_message(message(alice.email, address, "Prva"))
        with database.transaction(actor_id=None, channel="cli") as session:
            session.execute(delete(MailEntry).where(MailEntry.user_id == gone.id))
            session.execute(delete(User).where(User.id == gone.id))
        with pytest.raises(smtplib.SMTPDataError) as deferred:
            client.send_message(message(alice.email, address, "Druga"))
        assert deferred.value.smtp_code == 451
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.scalars(select(MailMessage.subject)).all() == ["Prva"]
