"""Delivering a message into mailboxes: who an address is, and filing the message.

:func:`resolve` says whom a recipient address reaches: a user by their address (also
with a plus part: ``ana+deal-12@<domain>`` reaches ana), nobody at our domain (unknown:
refused at RCPT), or ``None`` for an outside address. :func:`deliver` keeps the raw
message once and gives each local recipient an inbox entry, and an authenticated
sender a copy in "sent"; files it on the deals and partners it names (filing addresses,
the ``[D-12]`` tag) and hands its ``text/calendar`` parts to the calendars' iMIP entry
point for the local recipients. Nothing here commits: the SMTP server answers 250 only after
the transaction it runs this in has committed.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware.accounts.models import TeamMember, User
from groupware.caldav import imip
from groupware.errors import Invalid
from groupware.mail import relay
from groupware.mail.models import MailAddress, MailEntry, MailLink, MailMessage

TEXT_LIMIT = 1_000_000  # characters of text or HTML kept for display and search


def split_address(address: str) -> tuple[str, str]:
    local, _sep, domain = address.strip().strip("<>").rpartition("@")
    return local, domain.lower()


def resolve(session: Session, address: str, mail_domain: str) -> list[User] | None:
    """Local users an address reaches: [] for an unknown address of ours, None for an
    address outside the company.

    A user is reached by their e-mail address or ``<username>@<mail domain>``, also with
    a plus part; an alias (:class:`MailAddress` of a user) reaches its user, a team's
    address every active member of the team."""
    local, domain = split_address(address)
    if not local or not domain:
        return []
    base = local.split("+", 1)[0].lower()
    wanted = f"{base}@{domain}"
    user = session.scalar(select(User).where(func.lower(User.email) == wanted, User.is_active))
    if user is not None:
        return [user]
    if domain != mail_domain.lower():
        return None
    user = session.scalar(select(User).where(func.lower(User.username) == base, User.is_active))
    if user is not None:
        return [user]
    extra = session.scalar(select(MailAddress).where(MailAddress.local_part == base))
    if extra is None:
        return []
    if extra.user_id is not None:
        return [extra.user] if extra.user is not None and extra.user.is_active else []
    members = (
        select(User)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == extra.team_id, User.is_active)
        .order_by(User.id)
    )
    return list(session.scalars(members))


FILING = re.compile(r"^(?:.*\+)?(deal|partner)-(\d{1,9})$", re.IGNORECASE)
TAG = re.compile(r"\[D-(\d{1,9})\]")
RECORD_TYPES = {"deal": "deals", "partner": "partners"}


def filing_target(address: str, mail_domain: str) -> tuple[str, int] | None:
    """The record a filing address names: ``deal-12@<domain>`` or a plus part
    (``ana+deal-12@<domain>``), also ``partner-7``."""
    local, domain = split_address(address)
    if domain != mail_domain.lower():
        return None
    found = FILING.match(local)
    if found is None:
        return None
    return RECORD_TYPES[found[1].lower()], int(found[2])


def record_exists(session: Session, target: tuple[str, int]) -> bool:
    from groupware.crm.models import Partner
    from groupware.deals.models import Deal

    model = Deal if target[0] == "deals" else Partner
    return session.get(model, target[1]) is not None


def own_addresses(session: Session, user: User, mail_domain: str) -> set[str]:
    """The addresses ``user`` may send as: their own, their aliases and their teams'."""
    domain = mail_domain.lower()
    found = {user.email.lower(), f"{user.username}@{domain}".lower()}
    teams = select(TeamMember.team_id).where(TeamMember.user_id == user.id)
    extra = select(MailAddress.local_part).where(
        (MailAddress.user_id == user.id) | MailAddress.team_id.in_(teams)
    )
    found.update(f"{local}@{domain}" for local in session.scalars(extra))
    return found


def may_send_as(session: Session, user: User, address: str, mail_domain: str) -> bool:
    local, domain = split_address(address)
    base = f"{local.split('+', 1)[0]}@{domain}".lower()
    return base in own_addresses(session, user, mail_domain)


@dataclass
class Parsed:
    message_id: str = ""
    in_reply_to: str = ""
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    sent_at: dt.datetime | None = None
    text: str = ""
    html: str = ""
    attachments: list[dict[str, Any]] = field(default_factory=list)
    calendars: list[str] = field(default_factory=list)  # text/calendar parts (iMIP)
    thread: str = ""


MSGID = re.compile(r"<[^<>\s]+>")


def thread_key(message_id: str, in_reply_to: str, references: str) -> str:
    """The conversation of a message: a digest of the first Message-ID it refers to
    (References, then In-Reply-To), or of its own (a new conversation)."""
    for header in (references, in_reply_to, message_id):
        first = MSGID.search(header)
        if first is not None:
            return hashlib.sha1(first[0].lower().encode(), usedforsecurity=False).hexdigest()
    return ""


def _addresses(message: EmailMessage, name: str) -> list[str]:
    return [addr for _n, addr in email.utils.getaddresses(message.get_all(name, [])) if addr]


def parse(raw: bytes) -> Parsed:
    """What the web mail shows of a message; a broken part never stops delivery."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    parsed = Parsed(
        message_id=str(message.get("Message-ID", "") or "")[:998],
        in_reply_to=str(message.get("In-Reply-To", "") or "")[:998],
        subject=str(message.get("Subject", "") or "")[:998],
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
    )
    parsed.thread = thread_key(
        parsed.message_id, parsed.in_reply_to, str(message.get("References", "") or "")
    )
    name, address = email.utils.parseaddr(str(message.get("From", "") or ""))
    parsed.from_name, parsed.from_address = name[:300], address[:320]
    try:
        when = email.utils.parsedate_to_datetime(str(message.get("Date", "")))
        parsed.sent_at = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    except (TypeError, ValueError):
        parsed.sent_at = None
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        kind = part.get_content_type()
        if kind == "text/calendar":
            try:
                invitation = part.get_content()
            except (LookupError, ValueError):
                invitation = ""
            if isinstance(invitation, bytes):
                invitation = invitation.decode("utf-8", "replace")
            parsed.calendars.append(str(invitation))
        if disposition == "attachment" or (part.get_filename() and disposition != "inline"):
            payload = part.get_payload(decode=True) or b""
            parsed.attachments.append(
                {"name": part.get_filename() or "", "type": kind, "size": len(payload)}
            )
            continue
        try:
            content = part.get_content()
        except (LookupError, ValueError, AssertionError):
            payload = part.get_payload(decode=True)
            content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
        if kind == "text/plain" and not parsed.text and isinstance(content, str):
            parsed.text = content[:TEXT_LIMIT]
        elif kind == "text/html" and not parsed.html and isinstance(content, str):
            parsed.html = content[:TEXT_LIMIT]
    return parsed


def deliver(
    session: Session,
    raw: bytes,
    *,
    envelope_from: str,
    envelope_to: Sequence[str],
    recipients: Sequence[User],
    sender: User | None,
    filed: Sequence[tuple[str, int]] = (),
    mail_domain: str,
    outside: Sequence[str] = (),
    folder: str = "inbox",
) -> MailMessage:
    """Keep ``raw`` once; an inbox entry per local recipient, "sent" for the sender; a
    link to each record named by a filing address (``filed``), for deals by its tag
    ``[D-<id>]`` in the subject, for partners by an address of theirs or their persons
    among the message's outside addresses; ``outside`` recipients are queued for the
    smarthost (:mod:`groupware.mail.relay`)."""
    parsed = parse(raw)
    message = MailMessage(
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        subject=parsed.subject,
        from_address=parsed.from_address,
        from_name=parsed.from_name,
        to_addresses=parsed.to,
        cc_addresses=parsed.cc,
        envelope_from=envelope_from[:320],
        envelope_to=list(envelope_to),
        sent_at=parsed.sent_at,
        size=len(raw),
        text=parsed.text,
        html=parsed.html,
        attachments=parsed.attachments,
        raw=raw,
        thread=parsed.thread,
    )
    session.add(message)
    session.flush()
    seen: set[int] = set()
    for user in recipients:
        if user.id in seen:
            continue
        seen.add(user.id)
        session.add(MailEntry(message_id=message.id, user_id=user.id, folder=folder))
    if sender is not None:
        session.add(MailEntry(message_id=message.id, user_id=sender.id, folder="sent", seen=True))
    links: dict[tuple[str, int], str] = {target: "address" for target in filed}
    for deal_id in TAG.findall(parsed.subject):
        target = ("deals", int(deal_id))
        if target not in links and record_exists(session, target):
            links[target] = "tag"
    domain = mail_domain.lower()
    addresses = [parsed.from_address, *parsed.to, *parsed.cc, *outside]
    for partner_id in known_partners(session, addresses, domain):
        links.setdefault(("partners", partner_id), "contact")
    for (record_type, record_id), how in links.items():
        session.add(
            MailLink(message_id=message.id, record_type=record_type, record_id=record_id, how=how)
        )
    session.flush()
    if outside:
        relay.enqueue(session, message, outside, envelope_from)
    for part in parsed.calendars:
        try:
            imip.apply(session, part, [u for u in recipients])
        except Invalid:
            continue  # a broken invitation is still delivered as mail
    return message


def known_partners(session: Session, addresses: Sequence[str], mail_domain: str) -> set[int]:
    """Partners whose address, or one of whose persons' address, is among ``addresses``
    (those of the company's own domain are never looked up)."""
    outside = {
        address.strip().lower()
        for address in addresses
        if "@" in address and split_address(address)[1] != mail_domain
    }
    if not outside:
        return set()
    from groupware.crm.models import Partner, Person

    by_partner = select(Partner.id).where(Partner.email.in_(outside), Partner.status != "merged")
    by_person = select(Person.partner_id).where(Person.email.in_(outside))
    return set(session.scalars(by_partner.union(by_person)))
