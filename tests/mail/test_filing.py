"""Correspondence filed on deals and partners by each rule (filing address, plus
address, the deal's tag, a partner's known address), and private mail: a colleague who
may see the deal and the partner does not see a message its owner keeps private."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from groupware.access.policy import SYSTEM
from groupware.crm.models import Person
from groupware.db import Database
from groupware.mail.models import MailEntry, MailLink, MailMessage, MailOutbox
from groupware.settings import Settings
from tests import factories
from tests.conftest import LiveServer
from tests.factories import browser, login, make_partner
from tests.mail.conftest import Server, inbox, logged_in, make_deal, message


@dataclasses.dataclass
class Sale:
    partner_id: int
    deal_id: int
    buyer: str  # the partner's person's address


@pytest.fixture
def sale(committed: factories.Cast, database: Database) -> Sale:
    with database.transaction(actor_id=None, channel="cli") as session:
        partner = make_partner(session, SYSTEM, "Konzum d.d.")
        partner.email = "info@konzum.example"
        partner.owner_id = committed.alice.id  # dave, her team's lead, may see it
        session.add(Person(partner_id=partner.id, last_name="Horvat", email="ivan@konzum.example"))
        deal = make_deal(session, committed.alice, partner.id)
        return Sale(partner.id, deal.id, "ivan@konzum.example")


@pytest.fixture
def relaying(
    live: LiveServer, committed: factories.Cast, database: Database, settings: Settings
) -> Iterator[Server]:
    """The SMTP server with a smarthost configured (messages for outside addresses are
    queued; nothing here sends them)."""
    running = Server(database, dataclasses.replace(settings, smarthost_host="127.0.0.1"))
    yield running
    running.stop()


def links(database: Database) -> list[tuple[str, str, int, str]]:
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        query = (
            select(MailMessage.subject, MailLink.record_type, MailLink.record_id, MailLink.how)
            .join(MailLink, MailLink.message_id == MailMessage.id)
            .order_by(MailMessage.subject, MailLink.record_type)
        )
        return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def test_each_filing_rule(
    relaying: Server, committed: factories.Cast, database: Database, sale: Sale
) -> None:
    domain = relaying.settings.mail_domain
    alice, bob = committed.alice, committed.bob
    with logged_in(relaying, "alice") as client:
        client.send_message(message(alice.email, f"deal-{sale.deal_id}@{domain}", "1 filing"))
        client.send_message(message(alice.email, f"bob+deal-{sale.deal_id}@{domain}", "2 plus"))
        client.send_message(message(alice.email, bob.email, f"3 tag [D-{sale.deal_id}]"))
        client.send_message(message(alice.email, f"partner-{sale.partner_id}@{domain}", "4 p"))
        client.send_message(message(alice.email, sale.buyer, "5 to the buyer"))  # outside
        client.send_message(message(alice.email, bob.email, "6 internal only"))
    # the buyer writes back, delivered by the company's inbound server (trusted network)
    import smtplib

    with smtplib.SMTP("127.0.0.1", relaying.port, timeout=10) as client:
        client.send_message(message(sale.buyer, alice.email, "7 from the buyer"))
        client.send_message(message("info@konzum.example", alice.email, "8 from the firm"))
        client.send_message(message("netko@drugi.example", alice.email, "9 stranger"))
    deal, partner = sale.deal_id, sale.partner_id
    assert links(database) == [
        ("1 filing", "deals", deal, "address"),
        ("2 plus", "deals", deal, "address"),
        (f"3 tag [D-{deal}]", "deals", deal, "tag"),
        ("4 p", "partners", partner, "address"),
        ("5 to the buyer", "partners", partner, "contact"),
        ("7 from the buyer", "partners", partner, "contact"),
        ("8 from the firm", "partners", partner, "contact"),
    ]
    assert inbox(database, bob) == ["2 plus", f"3 tag [D-{deal}]", "6 internal only"]
    with database.transaction(actor_id=None, channel="cli", write=False) as session:
        queued = session.scalars(select(MailOutbox.recipient)).all()
    assert queued == [sale.buyer]


def test_a_private_message_stays_out_of_colleagues_timelines(
    relaying: Server,
    committed: factories.Cast,
    database: Database,
    sale: Sale,
    live: LiveServer,
) -> None:
    import smtplib

    alice, dave = committed.alice, committed.dave
    with smtplib.SMTP("127.0.0.1", relaying.port, timeout=10) as client:
        client.send_message(message(sale.buyer, alice.email, f"Osobno [D-{sale.deal_id}]"))
        client.send_message(message(sale.buyer, alice.email, f"Ponuda [D-{sale.deal_id}]"))
    with database.transaction(actor_id=None, channel="cli") as session:
        private = select(MailMessage.id).where(MailMessage.subject.startswith("Osobno"))
        session.execute(
            update(MailEntry).where(MailEntry.message_id.in_(private)).values(private=True)
        )

    def pages(username: str) -> tuple[str, str]:
        with browser(live.url) as client:
            login(client, username)
            deal_page = client.get(f"/deals/{sale.deal_id}")
            partner_page = client.get(f"/partners/{sale.partner_id}")
            assert deal_page.status_code == partner_page.status_code == 200
            return deal_page.text, partner_page.text

    deal_page, partner_page = pages("dave")  # a manager: may see the deal and the partner
    for page in (deal_page, partner_page):
        assert "Ponuda [D-" in page
        assert "Osobno" not in page
    deal_page, partner_page = pages("alice")  # the owner of the private message
    for page in (deal_page, partner_page):
        assert "Ponuda [D-" in page
        assert "Osobno" in page
    assert inbox(database, dave) == []
