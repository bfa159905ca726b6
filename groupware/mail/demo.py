"""The demo company's mail: a few weeks of correspondence in the users' folders.

Colleagues write each other and the sales, service and procurement team addresses;
customers and suppliers (persons of the demo partners, so their mail is linked to the
partner by its known address) write to the sales people, who answer with the deal's
tag ``[D-12]`` or a copy to its filing address ``deal-12@``, so deal timelines show the
correspondence. There is a newsletter with remote images (the web mail blocks them), an
offer as a PDF and a plan as a CSV attachment, read and unread mail, and mail in an
archive. Every message is built as real mail and goes through
:func:`groupware.mail.delivery.deliver` as the SMTP server would deliver it, dated over
the last weeks; nothing is queued for outside addresses. Which deals and persons the
threads are about is read from the (seeded) demo CRM in id order, so every install gets
the same mail.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts.models import Team, User
from groupware.crm.models import Partner, Person
from groupware.db import bind_actor
from groupware.deals.models import Deal
from groupware.mail import addresses, delivery, filing
from groupware.mail.demo_threads import (
    ADDRESSES,
    ATTACHMENTS,
    ISSUES,
    NEWSLETTER,
    NEWSLETTER_HTML,
    TEAM_NAMES,
    THREADS,
    Step,
    Thread,
)
from groupware.mail.models import MailEntry

ZONE = ZoneInfo("Europe/Zagreb")


def load_mail_demo(
    session: Session, users: Mapping[str, User], teams: Mapping[str, Team], mail_domain: str
) -> int:
    """Create the demo's team addresses and aliases and deliver its mail (the caller's
    transaction); returns how many messages were delivered."""
    bind_actor(session, actor_id=users["ana"].id, channel="cli")  # the administrator
    for local_part, owner in ADDRESSES:
        if owner in teams:
            addresses.add_team_address(session, teams[owner], local_part, mail_domain=mail_domain)
        else:
            addresses.add_alias(session, users[owner], local_part, mail_domain=mail_domain)
    bind_actor(session, actor_id=None, channel="cli")
    post = Post(session, users, mail_domain, dt.datetime.now(ZONE))
    taken: set[int] = set()  # one thread per partner
    for thread in THREADS:
        deal = _deal(session, users, thread.deal, taken) if thread.deal else None
        if thread.deal is None or deal is not None:
            post.thread(thread, deal)
    for issue in ISSUES:
        post.newsletter(*issue)
    return post.count


@dataclass(frozen=True)
class About:
    """The deal a thread is about and the partner's person who writes about it."""

    deal: Deal
    person: Person
    partner: Partner


def _deal(
    session: Session, users: Mapping[str, User], spec: tuple[str, str, str], taken: set[int]
) -> About | None:
    """The first deal (by id) of the owner, direction and status in ``spec`` whose
    partner has a person with an address and no thread yet."""
    owner, direction, status = spec
    query = (
        select(Deal, Person)
        .join(Person, Person.partner_id == Deal.partner_id)
        .where(
            Deal.owner_id == users[owner].id,
            Deal.direction == direction,
            Deal.status == status,
            Person.email != "",
        )
        .order_by(Deal.id, Person.id)
    )
    for deal, person in session.execute(query):
        if deal.partner_id not in taken:
            taken.add(deal.partner_id)
            return About(deal, person, deal.partner)
    return None


class Post:
    """Builds messages and delivers them as of a moment in the past."""

    def __init__(
        self, session: Session, users: Mapping[str, User], mail_domain: str, now: dt.datetime
    ) -> None:
        self.session, self.users, self.domain, self.now = session, users, mail_domain, now
        self.count = 0

    def thread(self, thread: Thread, about: About | None) -> None:
        names = (
            {
                "title": about.deal.title,
                "tag": f"[D-{about.deal.id}]",
                "person": about.person.full_name,
            }
            if about
            else {}
        )
        subject = thread.subject.format(**names)
        sent: list[EmailMessage] = []
        for step in thread.steps:
            previous = sent[step.answers] if sent else None
            if step.subject:
                subject = step.subject.format(**names)
            elif previous is not None:
                subject = "Re: " + str(previous["Subject"]).removeprefix("Re: ")
            sender = self._address(step.sender, about)
            mail = self._message(step.at, sender, subject)
            mail["To"] = [self._address(key, about) for key in step.to.split()]
            if step.cc:
                mail["Cc"] = [self._address(key, about) for key in step.cc.split()]
            body = step.body.format(**names) + f"\n\n--\n{self._signer(step, sender)}\n"
            if previous is not None:
                _answer(mail, previous)
                body += _quote(previous)
            mail.set_content(body)
            if step.attach:
                _attach(mail, step.attach, about)
            self._deliver(mail, step.by or None, step.read, step.archived.split())
            sent.append(mail)

    def newsletter(self, days_ago: int, reader: str, title: str, lead: str, slug: str) -> None:
        mail = self._message(f"{days_ago} 06:00", NEWSLETTER, f"Poslovni tjednik: {title}")
        mail["To"] = self._address(reader, None)
        link = f"https://poslovni-tjednik.hr/clanak/{slug}"
        mail.set_content(f"{title}\n\n{lead}\n\nCijeli članak: {link}\n")
        mail.add_alternative(
            NEWSLETTER_HTML.format(title=title, lead=lead, link=link), subtype="html"
        )
        archived = days_ago > 7  # the older issue, read and put away
        self._deliver(mail, None, archived, [reader] if archived else [])

    def _message(self, at: str, sender: Address, subject: str) -> EmailMessage:
        days, time = at.split()
        hour, minute = (int(part) for part in time.split(":"))
        when = (self.now - dt.timedelta(days=int(days))).replace(
            hour=hour, minute=minute, second=0, microsecond=0
        )
        if days == "0":
            ago = self.now - dt.timedelta(hours=hour, minutes=minute)
            when = ago.replace(second=0, microsecond=0)  # as precise as a Date header
        self.count += 1
        mail = EmailMessage(policy=email.policy.SMTP)
        mail["From"], mail["Subject"], mail["Date"] = sender, subject, when
        mail["Message-ID"] = f"<demo.{self.count}.{when:%Y%m%d%H%M}@{sender.domain}>"
        return mail

    def _address(self, key: str, about: About | None) -> Address:
        if key in self.users:
            return Address(self.users[key].full_name, addr_spec=self.users[key].email)
        if key == "@deal" and about is not None:
            return Address("", addr_spec=f"deal-{about.deal.id}@{self.domain}")
        if key.startswith("@"):
            return Address(TEAM_NAMES.get(key[1:], ""), addr_spec=f"{key[1:]}@{self.domain}")
        if key == "person" and about is not None:
            return Address(about.person.full_name, addr_spec=about.person.email.lower())
        if key == "company" and about is not None and about.partner.email:
            return Address(about.partner.name, addr_spec=about.partner.email.lower())
        raise ValueError(f"no address for {key!r} in the demo mail")

    def _signer(self, step: Step, sender: Address) -> str:
        if step.by:
            return f"{self.users[step.by].full_name}, {sender.display_name}"
        return sender.display_name

    def _deliver(
        self, mail: EmailMessage, by: str | None, read: bool | None, archived: Sequence[str]
    ) -> None:
        sender = mail["From"].addresses[0]
        envelope = [a.addr_spec for name in ("To", "Cc") for a in _addresses(mail, name)]
        recipients: dict[int, User] = {}
        filed: set[tuple[str, int]] = set()
        for address in envelope:
            target = filing.target(address, self.domain, filing.kinds())
            if target is not None and filing.exists(self.session, target, filing.kinds()):
                filed.add(target)
            for user in delivery.resolve(self.session, address, self.domain) or []:
                recipients[user.id] = user
        if by is None and sender.domain == self.domain:
            by = sender.username
        message = delivery.deliver(
            self.session,
            mail.as_bytes(),
            envelope_from=sender.addr_spec,
            envelope_to=envelope,
            recipients=list(recipients.values()),
            sender=self.users.get(by) if by else None,
            filed=sorted(filed),
            mail_domain=self.domain,
        )
        when = mail["Date"].datetime
        message.received_at = when
        seen = (self.now - when).days >= 3 if read is None else read
        archive = {self.users[name].id for name in archived}
        for entry in self.session.scalars(
            select(MailEntry).where(MailEntry.message_id == message.id)
        ):
            entry.created_at = when
            if entry.folder == "inbox":
                entry.seen = seen
                entry.folder = "archive" if entry.user_id in archive else "inbox"
        self.session.flush()


def _addresses(mail: EmailMessage, name: str) -> tuple[Address, ...]:
    header = mail[name]
    return tuple(header.addresses) if header is not None else ()


def _answer(mail: EmailMessage, original: EmailMessage) -> None:
    """Make ``mail`` a reply to ``original``, so it joins its thread."""
    message_id = str(original["Message-ID"])
    mail["In-Reply-To"] = message_id
    mail["References"] = f"{original.get('References', '')} {message_id}".strip()


def _quote(original: EmailMessage) -> str:
    """The text of ``original`` (without its signature and what it quoted), quoted as
    mail programs do."""
    sender = original["From"].addresses[0]
    when = original["Date"].datetime.astimezone(ZONE)
    part = original.get_body(("plain",))
    text = str(part.get_content()) if part is not None else ""
    own = text.split("\n\n--\n", 1)[0].strip()
    quoted = "\n".join(f"> {line}" if line else ">" for line in own.splitlines())
    return f"\n\n{when:%d.%m.%Y. u %H:%M}, {sender.display_name} je napisao/la:\n{quoted}\n"


def _attach(mail: EmailMessage, key: str, about: About | None) -> None:
    if key == "offer" and about is not None:
        lines = [f"Ponuda D-{about.deal.id}", about.deal.title, about.partner.name]
        name, kind, data = f"Ponuda_D-{about.deal.id}.pdf", "application/pdf", _pdf(lines)
    else:
        name, kind, data = ATTACHMENTS[key]
    maintype, subtype = kind.split("/")
    mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)


def _pdf(lines: Sequence[str]) -> bytes:
    """A one-page PDF showing ``lines`` (without diacritics, which its standard font
    lacks): the offer attached to the demo mail."""
    plain = [
        unicodedata.normalize("NFKD", line).encode("ascii", "ignore").decode() for line in lines
    ]
    text = " T* ".join(f"({_pdf_escape(line)}) Tj" for line in plain)
    stream = f"BT /F1 14 Tf 16 TL 60 780 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n" % (len(objects) + 1, xref)
    return bytes(out + b"%%EOF\n")


def _pdf_escape(text: str) -> str:
    return re.sub(r"([()\\])", r"\\\1", text)
