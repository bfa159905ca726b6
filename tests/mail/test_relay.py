"""Mail for outside addresses through a smarthost: a real aiosmtpd server plays the
smarthost (STARTTLS or implicit TLS with AUTH, or plain), answering 451 or 550 for
chosen recipients; our SMTP server takes the mail from ``smtplib`` and the relay sends
it on. Times after the first attempt are passed as ``now``."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import email
import email.policy
import email.utils
import os
import smtplib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import func, select

from groupware.accounts.models import User
from groupware.db import Database, utcnow
from groupware.jobs import run_jobs
from groupware.mail import delivery, relay
from groupware.mail.models import MailEntry, MailMessage, MailOutbox
from groupware.mail.tls import server_context
from groupware.settings import Settings
from tests import factories
from tests.conftest import LiveServer, _free_port
from tests.mail.conftest import Server, inbox, logged_in, message
from tests.test_cli import in_process

# -- the smarthost -----------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    authenticated: bool
    starttls: bool


@dataclass
class Smarthost:
    """aiosmtpd's handler: keeps what it took; ``answers`` refuse chosen recipients."""

    port: int = 0
    answers: dict[str, str] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.answers:
            return self.answers[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.received.append(
            Received(
                str(envelope.mail_from),
                list(envelope.rcpt_tos),
                envelope.original_content or b"",
                bool(session.authenticated),
                session.ssl is not None,
            )
        )
        return "250 2.0.0 Queued"


def _authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"relay",
        b"relay-secret",
    )
    return AuthResult(success=good, handled=False)  # aiosmtpd answers 535 when refused


@contextlib.contextmanager
def running(handler: Smarthost, **options: Any) -> Iterator[Smarthost]:
    handler.port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port, **options)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


@pytest.fixture
def smarthost() -> Iterator[Smarthost]:
    with running(Smarthost()) as handler:
        yield handler


def relaying(database: Database, settings: Settings, port: int, **options: Any) -> Server:
    """Our SMTP server with the smarthost on ``port`` (plain unless told otherwise)."""
    values: dict[str, Any] = {"smarthost_tls": "none", **options}
    return Server(
        database,
        dataclasses.replace(settings, smarthost_host="127.0.0.1", smarthost_port=port, **values),
    )


@pytest.fixture
def server(
    live: LiveServer,
    committed: factories.Cast,
    database: Database,
    settings: Settings,
    smarthost: Smarthost,
) -> Iterator[Server]:
    running_server = relaying(database, settings, smarthost.port)
    yield running_server
    running_server.stop()


# -- helpers ---------------------------------------------------------------------------


def outbox(database: Database) -> list[MailOutbox]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        return list(session.scalars(select(MailOutbox).order_by(MailOutbox.id)))


def send(server: Server, user: User, *to: str, subject: str = "Ponuda") -> None:
    mail = message(user.email, ", ".join(to), subject)
    mail["Message-ID"] = email.utils.make_msgid(domain="groupware.local")
    with logged_in(server, user.username) as client:
        assert client.send_message(mail) == {}


def stored_raw(database: Database) -> bytes:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        raw = session.scalar(select(MailMessage.raw).order_by(MailMessage.id).limit(1))
        assert raw is not None
        return raw


def bounces(database: Database, user: User) -> list[EmailMessage]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        query = (
            select(MailMessage.raw)
            .join(MailEntry, MailEntry.message_id == MailMessage.id)
            .where(MailEntry.user_id == user.id, MailEntry.folder == "inbox")
            .where(MailMessage.envelope_from == "")
            .order_by(MailMessage.id)
        )
        found = [
            email.message_from_bytes(raw, policy=email.policy.default)
            for raw in session.scalars(query)
        ]
    return [m for m in found if isinstance(m, EmailMessage)]


def text_of(report: EmailMessage) -> str:
    body = report.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def queue_directly(
    database: Database, raw: bytes, *, envelope_from: str, to: str = "kupac@example.com"
) -> None:
    """A message in the queue as delivery leaves it, for senders the SMTP server would
    not take from a client (an empty or outside envelope sender)."""
    with database.transaction(actor_id=None, channel="smtp") as session:
        delivery.deliver(
            session,
            raw,
            envelope_from=envelope_from,
            envelope_to=[to],
            recipients=[],
            sender=None,
            outside=[to],
            mail_domain="groupware.local",
        )


# -- sending ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["starttls", "tls"])
def test_outside_mail_reaches_the_smarthost_exactly_as_sent_after_tls_and_auth(
    mode: str, live: LiveServer, committed: factories.Cast, database: Database, settings: Settings
) -> None:
    alice = committed.alice
    tls = server_context(settings)  # the development certificate, self-signed
    options: dict[str, Any] = {"authenticator": _authenticator}
    if mode == "starttls":
        options.update(tls_context=tls, require_starttls=True, auth_required=True)
    else:  # aiosmtpd sees no STARTTLS on an implicit-TLS socket, so it cannot insist
        options.update(ssl_context=tls, auth_require_tls=False)
    with running(Smarthost(), **options) as smarthost:
        server = relaying(
            database,
            settings,
            smarthost.port,
            smarthost_tls=mode,
            smarthost_verify_tls=False,
            smarthost_user="relay",
            smarthost_password="relay-secret",
        )
        try:
            send(server, alice, "kupac@example.com", "Nabava <nabava@example.org>")
            assert smarthost.received == []  # queued, not sent while the client waits
            assert [row.state for row in outbox(database)] == ["queued", "queued"]
            assert relay.send_due(database, server.settings) == 2
        finally:
            server.stop()
    (received,) = smarthost.received  # one SMTP transaction for both
    assert received.mail_from == alice.email
    assert received.rcpt_tos == ["kupac@example.com", "nabava@example.org"]
    assert received.content == stored_raw(database)
    assert received.authenticated
    assert received.starttls == (mode == "starttls")
    rows = outbox(database)
    assert [(r.state, r.attempts, r.last_error) for r in rows] == [("sent", 1, "")] * 2
    assert all(r.done_at is not None for r in rows)
    assert relay.send_due(database, server.settings) == 0  # nothing twice


def test_without_a_smarthost_outside_recipients_are_refused_at_rcpt(
    live: LiveServer, committed: factories.Cast, database: Database, settings: Settings
) -> None:
    assert settings.smarthost_host == ""
    running_server = Server(database, settings)
    try:
        with (
            logged_in(running_server, "alice") as client,
            pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
        ):
            client.send_message(message(committed.alice.email, "kupac@example.com"))
    finally:
        running_server.stop()
    code, text = refused.value.recipients["kupac@example.com"]
    assert code == 550
    assert b"Outside addresses cannot be reached: no smarthost is configured" in text
    assert outbox(database) == []


def test_local_recipients_get_it_at_once_and_outside_ones_are_queued(
    server: Server, smarthost: Smarthost, committed: factories.Cast, database: Database
) -> None:
    alice, bob = committed.alice, committed.bob
    send(server, alice, bob.email, "kupac@example.com", subject="Ponuda za kupca")
    assert inbox(database, bob) == ["Ponuda za kupca"]
    (row,) = outbox(database)
    assert (row.recipient, row.sender, row.state) == ("kupac@example.com", alice.email, "queued")
    assert smarthost.received == []
    assert relay.send_due(database, server.settings) == 1
    assert [r.rcpt_tos for r in smarthost.received] == [["kupac@example.com"]]
    assert inbox(database, bob) == ["Ponuda za kupca"]  # not a second time


# -- failures --------------------------------------------------------------------------


def test_a_temporary_failure_is_retried_after_growing_pauses_then_delivered(
    server: Server, smarthost: Smarthost, committed: factories.Cast, database: Database
) -> None:
    smarthost.answers["kupac@example.com"] = "451 4.7.1 Greylisted, try again later"
    send(server, committed.alice, "kupac@example.com")
    start = utcnow()
    assert relay.send_due(database, server.settings, now=start) == 1
    (row,) = outbox(database)
    assert (row.state, row.attempts) == ("queued", 1)
    assert row.last_error == "451 4.7.1 Greylisted, try again later"
    assert row.next_attempt_at == start + dt.timedelta(minutes=1)
    half_a_minute = start + dt.timedelta(seconds=30)
    assert relay.send_due(database, server.settings, now=half_a_minute) == 0  # not due yet
    later = start + dt.timedelta(minutes=1)
    assert relay.send_due(database, server.settings, now=later) == 1
    (row,) = outbox(database)
    assert (row.state, row.attempts) == ("queued", 2)
    assert row.next_attempt_at == later + dt.timedelta(minutes=2)
    assert smarthost.received == []

    del smarthost.answers["kupac@example.com"]
    assert relay.send_due(database, server.settings, now=later + dt.timedelta(minutes=2)) == 1
    (row,) = outbox(database)
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, "")
    assert [r.rcpt_tos for r in smarthost.received] == [["kupac@example.com"]]
    assert bounces(database, committed.alice) == []


def test_pauses_grow_to_an_hour() -> None:
    minutes = [relay.pause(n) // dt.timedelta(minutes=1) for n in range(1, 10)]
    assert minutes == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_a_permanent_failure_bounces_to_the_sender_at_once(
    server: Server, smarthost: Smarthost, committed: factories.Cast, database: Database
) -> None:
    alice = committed.alice
    refusal = "550 5.1.1 <nobody@example.com>: Recipient address rejected"
    smarthost.answers["nobody@example.com"] = refusal
    send(server, alice, "nobody@example.com", "kupac@example.com", subject="Ponuda 7")
    assert relay.send_due(database, server.settings) == 2

    assert [r.rcpt_tos for r in smarthost.received] == [["kupac@example.com"]]
    states = {row.recipient: (row.state, row.last_error) for row in outbox(database)}
    assert states == {"nobody@example.com": ("failed", refusal), "kupac@example.com": ("sent", "")}
    (report,) = bounces(database, alice)
    assert report["Subject"] == "Undelivered mail: Ponuda 7"
    assert report["From"] == "Mail Delivery System <MAILER-DAEMON@groupware.local>"
    assert report["Auto-Submitted"] == "auto-replied"
    assert report.get_content_type() == "multipart/report"
    assert report.get_param("report-type") == "delivery-status"
    text = text_of(report)
    assert "nobody@example.com" in text and refusal in text
    assert "kupac@example.com" not in text
    human, status, headers = report.iter_parts()
    assert human.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    assert "Final-Recipient: rfc822; nobody@example.com" in status.as_string()
    assert "Status: 5.1.1" in status.as_string()
    assert headers.get_content_type() == "text/rfc822-headers"
    assert "Subject: Ponuda 7" in headers.get_content()
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        threads = session.scalars(select(MailMessage.thread).order_by(MailMessage.id)).all()
    assert threads[0] == threads[1]  # the report joins the original's conversation

    assert relay.send_due(database, server.settings) == 0
    assert len(bounces(database, alice)) == 1


def test_mail_not_sent_within_the_retry_window_fails_and_bounces(
    live: LiveServer, committed: factories.Cast, database: Database, settings: Settings
) -> None:
    nobody_listens = _free_port()
    running_server = relaying(database, settings, nobody_listens)
    try:
        send(running_server, committed.alice, "kupac@example.com", subject="Ugovor")
    finally:
        running_server.stop()
    relayed = running_server.settings
    assert relay.send_due(database, relayed) == 1
    (row,) = outbox(database)
    assert row.state == "queued" and "Connection refused" in row.last_error
    assert bounces(database, committed.alice) == []

    expired = row.created_at + dt.timedelta(hours=relayed.relay_retry_hours, minutes=1)
    assert relay.send_due(database, relayed, now=expired) == 1
    (row,) = outbox(database)
    assert (row.state, row.attempts, row.done_at) == ("failed", 2, expired)
    (report,) = bounces(database, committed.alice)
    assert report["Subject"] == "Undelivered mail: Ugovor"
    text = text_of(report)
    assert "kupac@example.com: not delivered within 48 hours" in text
    assert "Connection refused" in text


def test_trouble_getting_through_to_the_smarthost_is_temporary(
    live: LiveServer, committed: factories.Cast, database: Database, settings: Settings
) -> None:
    tls = server_context(settings)
    options = {"tls_context": tls, "auth_required": True, "authenticator": _authenticator}
    with running(Smarthost(), **options) as smarthost:
        good = {
            "smarthost_tls": "starttls",
            "smarthost_user": "relay",
            "smarthost_password": "relay-secret",
            "smarthost_verify_tls": False,
        }
        server = relaying(database, settings, smarthost.port, **good)
        try:
            send(server, committed.alice, "kupac@example.com")
        finally:
            server.stop()
        now = utcnow()
        for trouble, expected in (
            ({"smarthost_verify_tls": True}, "CERTIFICATE_VERIFY_FAILED"),
            ({"smarthost_password": "wrong"}, "535"),
            ({"smarthost_tls": "none"}, "AUTH extension not supported"),  # only after TLS
            ({"smarthost_user": ""}, "530"),  # the smarthost wants a login
        ):
            relayed = dataclasses.replace(server.settings, **trouble)
            assert relay.send_due(database, relayed, now=now) == 1
            (row,) = outbox(database)
            assert row.state == "queued" and expected in row.last_error, row.last_error
            now = row.next_attempt_at
        assert smarthost.received == []
        assert relay.send_due(database, server.settings, now=now) == 1
    assert [row.state for row in outbox(database)] == ["sent"]
    assert bounces(database, committed.alice) == []


def test_no_bounce_for_an_outside_or_empty_sender_or_an_automatic_message(
    live: LiveServer,
    committed: factories.Cast,
    database: Database,
    settings: Settings,
    smarthost: Smarthost,
) -> None:
    alice = committed.alice
    smarthost.answers["kupac@example.com"] = "550 5.7.1 Not wanted"
    plain = message(alice.email, "kupac@example.com", "Obična")
    automatic = message(alice.email, "kupac@example.com", "Odsutan sam")
    automatic["Auto-Submitted"] = "auto-replied"
    queue_directly(database, bytes(plain), envelope_from="")
    queue_directly(database, bytes(plain), envelope_from="partner@example.net")
    queue_directly(database, bytes(automatic), envelope_from=alice.email)
    relayed = dataclasses.replace(
        settings, smarthost_host="127.0.0.1", smarthost_port=smarthost.port, smarthost_tls="none"
    )
    assert relay.send_due(database, relayed) == 3
    assert [row.state for row in outbox(database)] == ["failed"] * 3
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        assert session.scalar(select(func.count()).select_from(MailMessage)) == 3
    assert bounces(database, alice) == []


# -- the queue -------------------------------------------------------------------------


def test_claimed_mail_is_leased_and_skipped_by_other_workers(
    server: Server, smarthost: Smarthost, committed: factories.Cast, database: Database
) -> None:
    send(server, committed.alice, "kupac@example.com")
    now = utcnow()
    if database.engine.dialect.name == "postgresql":
        # A worker in the middle of its claim holds the row: another one skips it at
        # once instead of waiting (or sending it as well).
        with database.transaction(actor_id=None, channel="job") as holder:
            holder.execute(select(MailOutbox).with_for_update())
            assert relay.claim(database, now=now) == {}
    (claimed,) = relay.claim(database, now=now).values()  # and then its worker died
    assert [item.recipient for item in claimed] == ["kupac@example.com"]
    assert relay.send_due(database, server.settings, now=now) == 0
    assert relay.send_due(database, server.settings, now=now + relay.LEASE) == 1
    assert len(smarthost.received) == 1


def test_the_relay_job_runs_with_the_server_settings(
    live: LiveServer, committed: factories.Cast, database: Database
) -> None:
    # The test database's settings name no smarthost: the job tries, and says why not.
    raw = bytes(message(committed.alice.email, "kupac@example.com"))
    queue_directly(database, raw, envelope_from=committed.alice.email)
    assert run_jobs(database, only="relay-mail") == {"relay-mail": 1}
    (row,) = outbox(database)
    assert (row.state, row.attempts) == ("queued", 1)
    assert "no smarthost is configured" in row.last_error


def test_the_mail_queue_command_lists_and_retries(
    live: LiveServer, committed: factories.Cast, database: Database, settings: Settings
) -> None:
    raw = bytes(message(committed.alice.email, "kupac@example.com"))
    queue_directly(database, raw, envelope_from=committed.alice.email)
    (row,) = outbox(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        session.get_one(MailOutbox, row.id).next_attempt_at = utcnow() + dt.timedelta(hours=1)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GROUPWARE_")}
    env = {
        **clean,
        "GROUPWARE_DATABASE_URL": settings.effective_database_url,
        "GROUPWARE_DATA_DIR": str(settings.data_dir),
        "GROUPWARE_SECRET_KEY": settings.secret_key,
    }

    def gw(*args: str) -> subprocess.CompletedProcess[str]:
        return in_process(env, "mail-queue", *args)

    listing = gw()
    assert listing.returncode == 0, listing.stderr
    header, line = listing.stdout.splitlines()
    assert header.split("\t")[:4] == ["id", "state", "sender", "recipient"]
    assert line.split("\t")[:4] == [
        str(row.id),
        "queued",
        committed.alice.email,
        "kupac@example.com",
    ]
    assert gw("--retry", str(row.id)).returncode == 0
    assert outbox(database)[0].next_attempt_at <= utcnow()
    missing = gw("--retry", str(row.id + 1))
    assert missing.returncode == 1
    assert "no queued mail has the id" in missing.stderr


def test_finished_queue_rows_are_deleted_after_the_keeping_period(
    server: Server, smarthost: Smarthost, committed: factories.Cast, database: Database
) -> None:
    for to in ("stari@example.com", "propao@example.com", "novi@example.com", "ceka@example.com"):
        send(server, committed.alice, to, subject=to)
    now = utcnow()
    keep = dt.timedelta(days=server.settings.relay_keep_days)
    finished = {
        "stari@example.com": ("sent", now - keep - dt.timedelta(hours=1)),
        "propao@example.com": ("failed", now - keep - dt.timedelta(hours=1)),
        "novi@example.com": ("sent", now - keep + dt.timedelta(hours=1)),
    }
    with database.transaction(actor_id=None, channel="job") as session:
        for row in session.scalars(select(MailOutbox)):
            if row.recipient in finished:
                row.state, row.done_at = finished[row.recipient]
            else:  # still queued, not due before the run below
                row.next_attempt_at = now + dt.timedelta(hours=1)
    assert relay.send_due(database, server.settings, now=now) == 0
    assert sorted((row.recipient, row.state) for row in outbox(database)) == [
        ("ceka@example.com", "queued"),
        ("novi@example.com", "sent"),
    ]
    assert smarthost.received == []
