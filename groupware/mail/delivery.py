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
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.caldav import imip
from groupware.errors import Invalid
from groupware.mail.models import MailEntry, MailLink, MailMessage

TEXT_LIMIT = 1_000_000  # characters of text or HTML kept for display and search


def split_address(address: str) -> tuple[str, str]:
    local, _sep, domain = address.strip().strip("<>").rpartition("@")
    return local, domain.lower()


def resolve(session: Session, address: str, mail_domain: str) -> list[User] | None:
    """Local users an address reaches: [] for an unknown address of ours, None for an
    address outside the company."""
    local, domain = split_address(address)
    if not local or not domain:
        return []
    base = local.split("+", 1)[0]
    wanted = f"{base}@{domain}".lower()
    user = session.scalar(select(User).where(func.lower(User.email) == wanted, User.is_active))
    if user is not None:
        return [user]
    if domain == mail_domain.lower():
        return []
    return None


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


def own_addresses(user: User, mail_domain: str) -> set[str]:
    """The addresses ``user`` may send as."""
    return {user.email.lower(), f"{user.username}@{mail_domain}".lower()}


def may_send_as(user: User, address: str, mail_domain: str) -> bool:
    local, domain = split_address(address)
    base = f"{local.split('+', 1)[0]}@{domain}".lower()
    return base in own_addresses(user, mail_domain)


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
) -> MailMessage:
    """Keep ``raw`` once; an inbox entry per local recipient, "sent" for the sender; a
    link to each record named by a filing address (``filed``) or, for deals, by its tag
    ``[D-<id>]`` in the subject."""
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
    )
    session.add(message)
    session.flush()
    seen: set[int] = set()
    for user in recipients:
        if user.id in seen:
            continue
        seen.add(user.id)
        session.add(MailEntry(message_id=message.id, user_id=user.id, folder="inbox"))
    if sender is not None:
        session.add(MailEntry(message_id=message.id, user_id=sender.id, folder="sent", seen=True))
    links: dict[tuple[str, int], str] = {target: "address" for target in filed}
    for deal_id in TAG.findall(parsed.subject):
        target = ("deals", int(deal_id))
        if target not in links and record_exists(session, target):
            links[target] = "tag"
    for (record_type, record_id), how in links.items():
        session.add(
            MailLink(message_id=message.id, record_type=record_type, record_id=record_id, how=how)
        )
    session.flush()
    for part in parsed.calendars:
        try:
            imip.apply(session, part, [u for u in recipients])
        except Invalid:
            continue  # a broken invitation is still delivered as mail
    return message
