"""Delivering a message into mailboxes: who an address is, and filing the message.

:func:`resolve` says whom a recipient address reaches: a user by their address (also
with a plus part: ``ana+deal-12@<domain>`` reaches ana), nobody at our domain (unknown:
refused at RCPT), or ``None`` for an outside address. :func:`deliver` keeps the raw
message once and gives each local recipient an inbox entry, and an authenticated
sender a copy in "sent"; files it on the records it names (:mod:`.filing`) and hands
its ``text/calendar`` parts to the calendars' iMIP entry point for the local
recipients. Nothing here commits: the SMTP server answers 250 only after the
transaction it runs this in has committed.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from groupware.accounts.models import TeamMember, User
from groupware.caldav import imip
from groupware.db import PreparedInsert, utcnow
from groupware.errors import Invalid
from groupware.mail import filing, relay
from groupware.mail.models import MailAddress, MailEntry, MailMessage
from groupware.mail.parsing import Parsed, parse

_MESSAGE_COLUMNS = (
    "message_id",
    "in_reply_to",
    "subject",
    "from_address",
    "from_name",
    "to_addresses",
    "cc_addresses",
    "envelope_from",
    "envelope_to",
    "sent_at",
    "received_at",
    "size",
    "text",
    "html",
    "attachments",
    "raw",
    "thread",
    "delivery_key",
)
INSERT_MESSAGE = PreparedInsert(
    cast(Table, MailMessage.__table__), _MESSAGE_COLUMNS, returning="id", unique="delivery_key"
)
_INSERT_ENTRIES = PreparedInsert(
    cast(Table, MailEntry.__table__),
    ("message_id", "user_id", "folder", "seen", "private", "created_at"),
)


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
    """:func:`store` the message; returns its row."""
    message_id = store(
        session,
        raw,
        envelope_from=envelope_from,
        envelope_to=envelope_to,
        recipients=recipients,
        sender=sender,
        filed=filed,
        mail_domain=mail_domain,
        outside=outside,
        folder=folder,
    )
    return session.get_one(MailMessage, message_id)


def store(
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
    key: str | None = None,
) -> int:
    """Keep ``raw`` once; an inbox entry per local recipient, "sent" for the sender; a
    link to each record it names (:mod:`.filing`: the records of its filing addresses,
    ``filed``, its subject's tags, contacts by their addresses); ``outside``
    recipients are queued for the smarthost (:mod:`groupware.mail.relay`). Returns the message's id.

    Plain inserts, not the unit of work: this is the SMTP server's hot path (the unit
    of work and building the mapped object cost a third of a message's filing)."""
    parsed = parse(raw)
    fields = message_fields(raw, parsed, envelope_from, envelope_to, key)
    session.flush()
    inserted = INSERT_MESSAGE.execute(session, [fields])[0]
    if inserted is None:  # delivered before (an attempt that committed, then a retry)
        kept = select(MailMessage.id).where(MailMessage.delivery_key == key)
        return int(session.scalars(kept).one())
    message_id = int(inserted)
    now = fields["received_at"]
    entries = [
        {"message_id": message_id, "user_id": user_id, "folder": folder, "seen": False}
        for user_id in dict.fromkeys(user.id for user in recipients)
    ]
    if sender is not None:
        entries.append(
            {"message_id": message_id, "user_id": sender.id, "folder": "sent", "seen": True}
        )
    for entry in entries:
        entry.update(private=False, created_at=now)
    if entries:
        _INSERT_ENTRIES.execute(session, entries)
    links = filing.plan(
        subject=parsed.subject,
        addresses=[parsed.from_address, *parsed.to, *parsed.cc, *outside],
        filed=filed,
        bounce=not envelope_from,  # a delivery report repeats the subject: not filed by it
        mail_domain=mail_domain,
        known=filing.kinds(),
    )
    filing.link(session, message_id, links, now)
    if outside:
        relay.enqueue(session, message_id, outside, envelope_from)
    for part in parsed.calendars:
        try:
            imip.apply(session, part, [session.merge(u, load=False) for u in recipients])
        except Invalid:
            continue  # a broken invitation is still delivered as mail
    return message_id


def message_fields(
    raw: bytes,
    parsed: Parsed,
    envelope_from: str,
    envelope_to: Sequence[str],
    key: str | None = None,
) -> dict[str, Any]:
    """The ``mail_messages`` row of a message."""
    return {
        "message_id": parsed.message_id,
        "in_reply_to": parsed.in_reply_to,
        "subject": parsed.subject,
        "from_address": parsed.from_address,
        "from_name": parsed.from_name,
        "to_addresses": parsed.to,
        "cc_addresses": parsed.cc,
        "envelope_from": envelope_from[:320],
        "envelope_to": list(envelope_to),
        "sent_at": parsed.sent_at,
        "received_at": utcnow(),
        "size": len(raw),
        "text": parsed.text,
        "html": parsed.html,
        "attachments": parsed.attachments,
        "raw": raw,
        "thread": parsed.thread,
        "delivery_key": key,
    }


_MESSAGE_ID = re.compile(rb"^message-id:", re.IGNORECASE | re.MULTILINE)


def delivery_key(raw: bytes, envelope_from: str, envelope_to: Sequence[str]) -> str:
    """The key of one delivery, made once per SMTP transaction and kept with the
    message: every attempt at filing it (the fast path's retry on a new connection, the
    writer's on a new transaction) carries it, so only one is kept.

    A message with a Message-ID is the same delivery whenever the same bytes come for
    the same envelope: then the key is their digest, and a client that sends again
    after a 451 whose filing had committed meanwhile finds it kept. Without a
    Message-ID, identical mail may be meant twice (a device's alert): a random key
    covers this transaction's own attempts only."""
    end = raw.find(b"\r\n\r\n")
    head = raw[: end if end >= 0 else len(raw)]
    if not _MESSAGE_ID.search(head):
        return uuid.uuid4().hex
    digest = hashlib.sha256()
    for part in (envelope_from, *envelope_to):
        digest.update(part.lower().encode() + b"\0")
    digest.update(raw)
    return digest.hexdigest()
