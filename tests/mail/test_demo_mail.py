"""The demo company's mail: threads, mail filed on deals and partners, unread and
archived mail, a newsletter with remote images, attachments and a sales team address."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections import Counter
from email.message import EmailMessage

from sqlalchemy import func, select

from groupware.accounts.models import TeamMember, User
from groupware.crm.models import Partner, Person
from groupware.deals.models import Deal
from groupware.mail import delivery, filing
from groupware.mail.models import MailAddress, MailEntry, MailLink, MailMessage, MailOutbox
from tests.conftest import Demo


def test_the_demo_has_a_few_weeks_of_correspondence(demo_company: Demo) -> None:
    database = demo_company.database
    assert demo_company.loaded is True
    domain = database.settings.mail_domain
    with demo_company.reading() as session:
        messages = list(session.scalars(select(MailMessage).order_by(MailMessage.sent_at)))
        assert 30 <= len(messages) <= 60
        now = dt.datetime.now(dt.UTC)
        dates = [m.sent_at for m in messages if m.sent_at is not None]
        assert len(dates) == len(messages)
        assert min(dates) < now - dt.timedelta(days=14) and max(dates) <= now
        assert all(m.received_at == m.sent_at for m in messages)

        # Replies join their original's thread; some threads are long.
        by_id = {m.message_id: m for m in messages}
        replies = [m for m in messages if m.in_reply_to]
        assert len(replies) > 15
        assert all(by_id[m.in_reply_to].thread == m.thread for m in replies)
        assert max(Counter(m.thread for m in messages).values()) >= 5

        # Deals are written about by their filing address and their tag.
        on_deals = list(session.scalars(select(MailLink).where(MailLink.record_type == "deals")))
        assert {link.how for link in on_deals} == {"address", "tag"}
        for link in on_deals:
            deal = session.get(Deal, link.record_id)
            assert deal is not None
            assert link.how == "address" or f"[D-{deal.id}]" in link.message.subject
        # One is sent to a deal's filing address alone: filed, in nobody's inbox.
        filed_only = [
            m
            for m in messages
            if m.envelope_to
            and all(filing.target(a, domain, filing.kinds()) for a in m.envelope_to)
        ]
        assert filed_only
        folders_of = select(MailEntry.folder).where(MailEntry.message_id == filed_only[0].id)
        assert list(session.scalars(folders_of)) == ["sent"]

        # Mail exchanged with partners' persons is on the partner.
        on_partners = list(
            session.scalars(select(MailLink).where(MailLink.record_type == "partners"))
        )
        assert on_partners and {link.how for link in on_partners} == {"contact"}
        for link in on_partners:
            outside = {
                a.lower()
                for a in [link.message.from_address, *link.message.to_addresses]
                if not a.endswith("@" + domain)
            }
            partner = session.get(Partner, link.record_id)
            assert partner is not None
            persons = set(
                session.scalars(select(Person.email).where(Person.partner_id == partner.id))
            )
            assert outside & (persons | {partner.email})

        # Some read, some unread, and some put away in an archive.
        folders = Counter((e.folder, e.seen) for e in session.scalars(select(MailEntry)))
        assert (
            folders[("inbox", False)] > 0 and folders[("inbox", True)] > folders[("inbox", False)]
        )
        assert folders[("archive", True)] > 0 and folders[("sent", True)] > 0
        unread = Counter(
            session.scalars(
                select(User.username)
                .join(MailEntry, MailEntry.user_id == User.id)
                .where(MailEntry.folder == "inbox", MailEntry.seen.is_(False))
            )
        )
        assert len(unread) >= 3, unread

        # A newsletter with remote images, an offer as a PDF and a CSV.
        assert any('<img src="https://' in m.html for m in messages)
        kinds = {a["type"] for m in messages for a in m.attachments}
        assert {"application/pdf", "text/csv"} <= kinds
        offer = next(
            m for m in messages if any(a["type"] == "application/pdf" for a in m.attachments)
        )
        parsed = email.message_from_bytes(offer.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        pdf = next(parsed.iter_attachments()).get_content()
        assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")

        # The sales team's address reaches its members; nothing waits for the smarthost.
        prodaja = session.scalar(select(MailAddress).where(MailAddress.local_part == "prodaja"))
        assert prodaja is not None and prodaja.team is not None
        members = set(
            session.scalars(select(TeamMember.user_id).where(TeamMember.team_id == prodaja.team_id))
        )
        reached = delivery.resolve(session, f"prodaja@{domain}", domain)
        assert reached is not None and {u.id for u in reached} == members and len(members) >= 2
        to_team = [m for m in messages if f"prodaja@{domain}" in m.envelope_to]
        assert to_team
        for message in to_team:
            got = set(
                session.scalars(
                    select(MailEntry.user_id).where(
                        MailEntry.message_id == message.id, MailEntry.folder != "sent"
                    )
                )
            )
            assert members <= got
        assert session.scalar(select(func.count()).select_from(MailOutbox)) == 0
