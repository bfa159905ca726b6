"""The SMTP server (aiosmtpd): submission from mail programs and delivery to local
mailboxes.

* **Logging in**: AUTH PLAIN and LOGIN after STARTTLS (or on the implicit-TLS port), with
  the account password or an app password, checked off the event loop by the protocol
  logins of :mod:`groupware.accounts.protocol_login` (throttled, never sleeping). A
  throttled login is answered ``454 4.7.0`` (try later), not 535, so a mail program
  does not ask for a password that is right; a connection is closed after three
  failed logins.
* **No open relay**: without a login a client may deliver only to local addresses, and
  only from ``GROUPWARE_SMTP_TRUSTED_NETWORKS``; a logged-in sender may use only their
  own addresses, aliases and team addresses (plus parts allowed), in ``MAIL FROM`` and
  in the message's ``From:`` and ``Sender:`` (refused at the end of DATA with 550
  5.7.1, :mod:`.senders`). Outside recipients
  are queued for the smarthost (:mod:`groupware.mail.relay`); with none configured
  they are refused at RCPT with a reply that says so.
* **Delivery**: 550 at RCPT for an unknown local address; the message is filed in one
  database transaction and 250 is answered only after it committed; 451 when the
  database cannot be reached, so the client retries and nothing is lost. SIZE is
  advertised and enforced. Bare CR or LF line endings around the end of data are not
  taken as its end (aiosmtpd accepts only CRLF.CRLF), so no SMTP smuggling.

What changes aiosmtpd's own SMTP class is in :mod:`.aiosmtpd_compat`, checked against
the version it was written for.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
import time
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session as DbSession

from groupware.accounts.models import User
from groupware.accounts.protocol_login import Outcome, ProtocolLogins
from groupware.db import Database
from groupware.mail import aiosmtpd_compat, delivery, fastfile, routing, senders
from groupware.mail.fastfile import FastFiler
from groupware.mail.tls import server_context
from groupware.mail.writer import Writer
from groupware.settings import Settings

log = logging.getLogger("groupware.smtp")

INLINE_BYTES = 256 * 1024  # a message this small is quick to file (see mail/fastfile.py)
ROUTE_SECONDS = 10.0  # how long a recipient lookup is remembered
ROUTES_KEPT = 10_000


class Handler:
    """aiosmtpd's handler: the hooks of one SMTP server (see the module docstring)."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.database = database
        self.settings = settings
        self.logins = ProtocolLogins(database, settings, "smtp")
        self.writer = Writer(database)
        self._routes: dict[tuple[str, bool], tuple[float, routing.Route]] = {}
        self._senders: dict[str, tuple[float, int | None]] = {}
        self.fast = None if database.is_sqlite else FastFiler(database)
        self.trusted = [
            ipaddress.ip_network(n, strict=False) for n in settings.smtp_trusted_networks
        ]

    # -- logging in ----------------------------------------------------------------

    async def auth_PLAIN(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:
            blob = await server.challenge_auth("")
            if blob is MISSING:
                return AuthResult(success=False)
        else:
            try:
                blob = b64decode(args[1].encode(), validate=True)
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        try:
            _authz, login, password = bytes(blob).split(b"\x00")
        except ValueError:
            await server.push("501 5.5.2 Can't split auth value")
            return AuthResult(success=False, handled=True)
        return await self._login(server, login, password)

    async def auth_LOGIN(self, server: SMTP, args: list[str]) -> AuthResult:
        if len(args) == 1:
            login = await server.challenge_auth(SMTP.AuthLoginUsernameChallenge)
            if login is MISSING:
                return AuthResult(success=False)
        else:
            try:
                login = b64decode(args[1].encode(), validate=True)
            except ValueError:
                await server.push("501 5.5.2 Can't decode base64")
                return AuthResult(success=False, handled=True)
        password = await server.challenge_auth(SMTP.AuthLoginPasswordChallenge)
        if password is MISSING:
            return AuthResult(success=False)
        return await self._login(server, bytes(login), bytes(password))

    async def _login(self, server: SMTP, login: bytes, password: bytes) -> AuthResult:
        address = _peer_ip(server.session)
        try:
            found = await asyncio.to_thread(
                self.logins.login, login.decode(), password.decode(), address
            )
        except UnicodeDecodeError:
            found = Outcome()
        except OperationalError:
            return AuthResult(
                success=False, handled=False, message="454 4.7.0 Temporary authentication failure"
            )
        if found.user_id is not None:
            return AuthResult(success=True, auth_data=LoginPassword(login, b""))
        session: Any = server.session
        session.groupware_failed_logins = getattr(session, "groupware_failed_logins", 0) + 1
        if found.retry_after:
            # temporary: the password may well be right, so the mail program must not
            # ask for another one (535 would make it)
            return AuthResult(
                success=False,
                handled=False,
                message="454 4.7.0 Too many failed logins from your address; "
                f"try again in {found.retry_after} seconds",
            )
        return AuthResult(success=False, handled=False)  # aiosmtpd answers 535

    # -- the envelope --------------------------------------------------------------

    def _sendable(self, session: Session) -> list[str]:
        """The addresses the logged-in user may send as (:mod:`.senders`)."""
        if session.auth_data is None:
            return []
        login = session.auth_data.login.decode()
        with self.database.session() as db, db.begin():
            from groupware.accounts.users import find_user

            user = find_user(db, login)
            return [] if user is None else senders.sendable(db, user, self.settings.mail_domain)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if session.authenticated:
            own = await asyncio.to_thread(self._sendable, session)
            if not senders.may_send_as(own, address):
                return "553 5.7.1 You may send only from your own addresses"
            # the message's From: and Sender: are held to the same addresses at DATA
            envelope.sendable = own  # type: ignore[attr-defined]
        elif not self._trusted(session):
            return "530 5.7.0 Log in first (AUTH after STARTTLS)"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    def _trusted(self, session: Session) -> bool:
        """Whether the client's address is in the trusted networks (asked once per
        connection: the peer does not change)."""
        known: bool | None = getattr(session, "groupware_trusted", None)
        if known is None:
            try:
                ip = ipaddress.ip_address(_peer_ip(session))
                known = any(ip in net for net in self.trusted)
            except ValueError:
                known = False
            session.groupware_trusted = known  # type: ignore[attr-defined]
        return known

    def _route(self, address: str, logged_in: bool) -> routing.Route:
        with self.database.session() as db, db.begin():
            found = routing.route(db, address, self.settings, logged_in=logged_in)
            for user in found.users:
                db.expunge(user)
            return found

    async def _cached_route(self, address: str, logged_in: bool) -> routing.Route:
        """:meth:`_route`, remembered for ``ROUTE_SECONDS`` (a busy server looks up the
        same few addresses all day; a new user or alias is reachable that much later)."""
        key = (address.lower(), logged_in)
        now = time.monotonic()
        hit = self._routes.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await asyncio.to_thread(self._route, address, logged_in)
        if len(self._routes) >= ROUTES_KEPT:
            self._routes.clear()
        self._routes[key] = (now + ROUTE_SECONDS, found)
        return found

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        try:
            found = await self._cached_route(address, bool(session.authenticated))
        except OperationalError:
            return "451 4.3.0 The mailbox database is not reachable; try again later"
        except routing.Unreachable as exc:
            return f"{exc.code} {exc.text}"
        recipients: routing.Envelope = getattr(envelope, "recipients", None) or routing.Envelope()
        recipients.add(address, found)
        envelope.recipients = recipients  # type: ignore[attr-defined]
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    # -- the message ----------------------------------------------------------------

    def _filing(
        self, session: Session, envelope: Envelope, key: str
    ) -> Callable[[DbSession], None]:
        raw = envelope.original_content or b""
        login = (
            session.auth_data.login.decode() if session.authenticated and session.auth_data else ""
        )
        found: routing.Envelope = envelope.recipients  # type: ignore[attr-defined]

        def file(db: DbSession) -> None:
            from groupware.accounts.users import find_user

            delivery.store(
                db,
                raw,
                envelope_from=envelope.mail_from or "",
                envelope_to=list(envelope.rcpt_tos),
                recipients=list(found.users.values()),
                sender=find_user(db, login) if login else None,
                filed=sorted(found.filed),
                outside=found.outside,
                mail_domain=self.settings.mail_domain,
                key=key,
            )

        return file

    async def _sender_id(self, session: Session) -> int | None:
        """The logged-in sender's user id (remembered like recipient lookups)."""
        if not session.authenticated or session.auth_data is None:
            return None
        login = session.auth_data.login.decode()
        now = time.monotonic()
        hit = self._senders.get(login)
        if hit is None or hit[0] <= now:
            user = await asyncio.to_thread(self._find, login)
            hit = self._senders[login] = (now + ROUTE_SECONDS, user.id if user else None)
        return hit[1]

    def _find(self, login: str) -> User | None:
        from groupware.accounts.users import find_user

        with self.database.session() as db, db.begin():
            return find_user(db, login)

    async def _file_fast(self, session: Session, envelope: Envelope, raw: bytes, key: str) -> bool:
        """PostgreSQL: file a message on the event loop (:mod:`.fastfile`) when it
        :func:`~.fastfile.takes` it."""
        found: routing.Envelope = envelope.recipients  # type: ignore[attr-defined]
        calendar = b"text/calendar" in raw
        takes = fastfile.takes(
            size=len(raw), limit=INLINE_BYTES, calendar=calendar, outside=bool(found.outside)
        )
        if self.fast is None or not takes:
            return False
        sender_id = await self._sender_id(session)
        if session.authenticated and sender_id is None:
            return False
        filed = await self.fast.file(
            raw,
            envelope_from=envelope.mail_from or "",
            envelope_to=list(envelope.rcpt_tos),
            recipient_ids=list(found.users),
            sender_id=sender_id,
            mail_domain=self.settings.mail_domain,
            filed=sorted(found.filed),
            key=key,
        )
        return filed is not None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if session.authenticated:  # before either way of filing (fast or general)
            foreign = senders.foreign_senders(getattr(envelope, "sendable", ()), raw)
            if foreign:
                return senders.smtp_refusal(foreign)
        # one key for every attempt at filing this message (mail/delivery.py)
        key = delivery.delivery_key(raw, envelope.mail_from or "", envelope.rcpt_tos)
        try:
            if await self._file_fast(session, envelope, raw, key):
                return "250 2.0.0 Delivered"
            await self.writer.file(self._filing(session, envelope, key))
        except Exception as exc:
            reply = failure_reply(exc)
            if reply is None:
                raise
            if reply == UNREACHABLE:
                log.warning("delivery deferred, the database is not reachable: %s", exc)
            elif not isinstance(exc, RuntimeError):  # the writer has logged why
                log.exception("a message could not be filed")
            return reply
        return "250 2.0.0 Delivered"


UNREACHABLE = "451 4.3.0 The mailbox database is not reachable; try again later"
NOT_FILED = "451 4.3.0 The message could not be filed; try again later"


def failure_reply(exc: BaseException) -> str | None:
    """The reply to a message whose filing raised ``exc`` (None: not ours to answer).
    Always a 451: the client keeps the message and tries again, and RCPT looks its
    addresses up anew (a recipient removed since, say)."""
    if isinstance(exc, psycopg.OperationalError | OperationalError | TimeoutError):
        return UNREACHABLE
    if isinstance(exc, psycopg.Error | RuntimeError):
        # the database refused the fast path's rows, or the writer failed (logged)
        return NOT_FILED
    return None


def _peer_ip(session: Session | None) -> str:
    peer: Any = session.peer if session is not None else None
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer or "")


@dataclass
class Listening:
    """The SMTP server's sockets and its writer, stopped together by :meth:`close`."""

    servers: list[asyncio.base_events.Server]
    handlers: list[Handler]

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for handler in self.handlers:
            handler.writer.stop()
            if handler.fast is not None:
                await handler.fast.close()


def smtp_factory(
    database: Database, settings: Settings, *, implicit_tls: bool = False, idle: float = 300
) -> tuple[Any, ssl.SSLContext, Handler]:
    """A protocol factory for ``loop.create_server``, its TLS context and its handler."""
    aiosmtpd_compat.check_version()
    context = server_context(settings)
    handler = Handler(database, settings)
    limit = settings.smtp_max_message_mb * 1024 * 1024

    def make() -> SMTP:
        return aiosmtpd_compat.GroupwareSMTP(
            handler,
            hostname=settings.mail_domain,
            ident="groupware",
            data_size_limit=limit,
            enable_SMTPUTF8=True,
            decode_data=False,
            tls_context=None if implicit_tls else context,
            require_starttls=False,
            auth_require_tls=not implicit_tls,
            auth_exclude_mechanism=["CRAM-MD5"],
            timeout=idle,
        )

    return make, context, handler


async def start(database: Database, settings: Settings) -> Listening:
    """Listen on the SMTP port (STARTTLS) and, when set, the implicit-TLS port."""
    if settings.log_level != "debug":  # aiosmtpd logs every connection at INFO
        logging.getLogger("mail.log").setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    make, context, handler = smtp_factory(database, settings)
    listening = Listening(
        [await loop.create_server(make, settings.smtp_host, settings.smtp_port)], [handler]
    )
    if settings.smtp_tls_port:
        make_tls, _ctx, tls_handler = smtp_factory(database, settings, implicit_tls=True)
        listening.handlers.append(tls_handler)
        listening.servers.append(
            await loop.create_server(
                make_tls, settings.smtp_host, settings.smtp_tls_port, ssl=context
            )
        )
    log.info("SMTP listening on %s:%s", settings.smtp_host, settings.smtp_port)
    return listening
