"""The SMTP server as ``groupware serve`` runs it, and ``smtplib`` helpers, for the mail
tests."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import smtplib
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession

from groupware.access.policy import SYSTEM
from groupware.accounts.models import User
from groupware.db import Database
from groupware.deals.models import Deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.mail import smtp
from groupware.mail.models import MailEntry, MailMessage
from groupware.settings import Settings
from tests import factories
from tests.conftest import _free_port
from tests.factories import PASSWORD


class Server:
    """The SMTP server on its own event loop in a thread, as ``groupware serve`` runs it."""

    def __init__(self, database: Database, settings: Settings) -> None:
        self.port = _free_port()
        self.settings = dataclasses.replace(
            settings, smtp_host="127.0.0.1", smtp_port=self.port, smtp_max_message_mb=1
        )
        self.loop = asyncio.new_event_loop()
        self.database = database
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.listening = self.loop.run_until_complete(smtp.start(self.database, self.settings))
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(15)

    def stop(self) -> None:
        async def close() -> None:
            await self.listening.close()
            for server in self.listening.servers:
                await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def server(
    live: object, committed: factories.Cast, database: Database, settings: Settings
) -> Iterator[Server]:
    running = Server(database, settings)
    yield running
    running.stop()


def tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the development certificate is self-signed
    return context


def message(sender: str, to: str, subject: str = "Ponuda", body: str = "Pozdrav!") -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail.set_content(body)
    return mail


def logged_in(server: Server, username: str, password: str = PASSWORD) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", server.port, timeout=10)
    try:
        client.starttls(context=tls())
        client.login(username, password)
    except smtplib.SMTPException:
        client.close()
        raise
    return client


def inbox(database: Database, user: User, folder: str = "inbox") -> list[str]:
    with database.transaction(actor_id=None, channel="cli") as session:
        query = (
            select(MailMessage.subject)
            .join(MailEntry, MailEntry.message_id == MailMessage.id)
            .where(MailEntry.user_id == user.id, MailEntry.folder == folder)
            .order_by(MailEntry.id)
        )
        return list(session.scalars(query))


def make_deal(session: DbSession, owner: User, partner_id: int) -> Deal:
    """A sale ("Blagajne") of ``owner`` with ``partner_id``, of a one-phase sale type."""
    kind = save_type(
        session,
        SYSTEM,
        None,
        TypeIn(name="Prodaja", direction="sale", phases=[StepIn(name="Ponuda", planned_days=5)]),
    )
    deal = Deal(
        title="Blagajne",
        partner_id=partner_id,
        type_id=kind.id,
        owner_id=owner.id,
        started_on=dt.date(2026, 12, 1),
    )
    session.add(deal)
    session.flush()
    return deal
