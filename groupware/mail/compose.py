"""Writing mail in the web mail and the API: the form's fields made into an RFC 5322
message, sent through :func:`groupware.mail.routing.submit` like any mail a colleague
sends over SMTP, or kept as a draft.

:func:`prefill` fills the form for a reply (to the sender), a reply to all (minus the
writer's own addresses), a forward (with the original's attachments) or an open draft.
:func:`address_book` completes addresses from colleagues and the partners and persons
the writer may see.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from typing import Any

from pydantic import ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from groupware.access.policy import Who, load_who, visible
from groupware.accounts.models import User
from groupware.db import escape_like
from groupware.errors import Invalid
from groupware.i18n import _, format_datetime
from groupware.mail import mailbox, parsing, routing, sanitize, senders
from groupware.mail.models import MailEntry, MailMessage
from groupware.settings import Settings
from groupware.validation import OptionalId, Schema, WholeNumber

MAX_ADDRESSES = 100
ADDRESS = re.compile(r"[^@\s<>(),;:\"\[\]\\]+@[^@\s<>(),;:\"\[\]\\]+")
REPLY_PREFIX = re.compile(r"^\s*(re|aw|odg|sv)\s*(\[\d+\])?\s*:", re.IGNORECASE)
FORWARD_PREFIX = re.compile(r"^\s*(fwd?|wg|tr)\s*:", re.IGNORECASE)


class MailIn(Schema):
    """The compose form (and the API's body for sending). Addresses are separated by
    commas, each ``name@domain`` or ``Name <name@domain>``."""

    # The text keeps its leading spaces and blank lines.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    from_address: str = Field(
        default="", max_length=320, description="one of your addresses; empty: your own"
    )
    to: str = Field(default="", max_length=20_000)
    cc: str = Field(default="", max_length=20_000)
    bcc: str = Field(default="", max_length=20_000)
    subject: str = Field(default="", max_length=900)
    text: str = Field(default="", max_length=parsing.TEXT_LIMIT)
    in_reply_to: str = Field(default="", max_length=998)
    references: str = Field(default="", max_length=8000)
    # The entry whose attachments may be sent along (a forwarded message, the draft),
    # and which of its parts are.
    source_id: OptionalId = None
    keep: list[WholeNumber] = Field(default_factory=list, max_length=200)
    draft_id: OptionalId = None


@dataclass(frozen=True)
class Upload:
    """A file attached in the form."""

    name: str
    type: str
    data: bytes


def parse_addresses(value: str, field: str) -> list[Address]:
    """The addresses of a To/Cc/Bcc field (:class:`Invalid` naming a bad one)."""
    found: list[Address] = []
    for name, address in email.utils.getaddresses([value.replace(";", ",")]):
        address = address.strip()
        if not address and not name.strip():
            continue
        if not ADDRESS.fullmatch(address):
            shown = address or name
            raise Invalid({field: _("%(address)s is not an e-mail address.", address=shown)})
        local, _sep, domain = address.rpartition("@")
        try:
            found.append(Address(display_name=name.strip(), username=local, domain=domain))
        except (ValueError, TypeError):
            raise Invalid(
                {field: _("%(address)s is not an e-mail address.", address=address)}
            ) from None
    if len(found) > MAX_ADDRESSES:
        raise Invalid({field: _("Send to at most %(count)d addresses.", count=MAX_ADDRESSES)})
    return found


def _from(sender: User, chosen: str) -> Address:
    """The From header: the address chosen in the form (checked against the sender's
    own when the message is sent, :mod:`.senders`), or the sender's own."""
    address = chosen.strip() or sender.email
    if not ADDRESS.fullmatch(address):
        raise Invalid({"from_address": _("%(address)s is not an e-mail address.", address=address)})
    local, _sep, domain = address.rpartition("@")
    try:
        return Address(display_name=sender.full_name, username=local, domain=domain)
    except (ValueError, TypeError):
        raise Invalid(
            {"from_address": _("%(address)s is not an e-mail address.", address=address)}
        ) from None


def _one_line(value: str) -> str:
    return " ".join(value.split())


def build(
    sender: User,
    data: MailIn,
    *,
    attachments: Sequence[Upload],
    settings: Settings,
    keep_bcc: bool = False,
) -> EmailMessage:
    """The message the form describes; Bcc is only in it for a draft (``keep_bcc``):
    sent, it is in the envelope alone."""
    message = EmailMessage()
    message["From"] = _from(sender, data.from_address)
    for name, field in (("To", "to"), ("Cc", "cc"), ("Bcc", "bcc")):
        addresses = parse_addresses(getattr(data, field), field)
        if addresses and (name != "Bcc" or keep_bcc):
            message[name] = addresses
    message["Subject"] = _one_line(data.subject)
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = email.utils.make_msgid(domain=settings.mail_domain)
    original = _one_line(data.in_reply_to)
    if original:
        message["In-Reply-To"] = original
        references = _one_line(data.references).split()
        if original not in references:
            references.append(original)
        message["References"] = " ".join(references[-20:])
    message["User-Agent"] = "groupware"
    message.set_content(data.text.replace("\r\n", "\n"))
    for upload in attachments:
        maintype, _sep, subtype = (upload.type or "application/octet-stream").partition("/")
        if not maintype or not subtype or maintype == "multipart":
            maintype, subtype = "application", "octet-stream"
        message.add_attachment(
            upload.data, maintype=maintype, subtype=subtype, filename=upload.name or "file"
        )
    return message


def _as_bytes(message: EmailMessage, settings: Settings) -> bytes:
    raw = message.as_bytes(policy=email.policy.SMTP)
    if len(raw) > settings.smtp_max_message_mb * 1024 * 1024:
        raise Invalid(
            {
                "attachments": _(
                    "The message is larger than %(size)d MB.", size=settings.smtp_max_message_mb
                )
            }
        )
    return raw


def _kept(session: Session, who: Who, data: MailIn) -> list[Upload]:
    """The attachments of the source message (a forward, a draft) the form keeps."""
    if data.source_id is None or not data.keep:
        return []
    source = mailbox.get_entry_for_user(session, who, data.source_id)
    kept = []
    for number in dict.fromkeys(data.keep):
        part, payload = mailbox.part_payload(source.message, number)
        if part.attachment:
            kept.append(Upload(part.name, part.type, payload))
    return kept


def recipients(data: MailIn) -> list[str]:
    return [a.addr_spec for f in ("to", "cc", "bcc") for a in parse_addresses(getattr(data, f), f)]


def send(
    session: Session,
    sender: User,
    data: MailIn,
    settings: Settings,
    *,
    uploads: Sequence[Upload] = (),
) -> MailMessage:
    """Send the form's message from ``sender`` (refused with :class:`Invalid` naming the
    addresses nobody receives); a sent draft leaves the drafts."""
    who = load_who(session, sender)
    draft = None
    if data.draft_id is not None:
        draft = mailbox.get_entry_for_user(session, who, data.draft_id)
        if draft.folder != "drafts":
            raise Invalid({"draft_id": _("This message is not a draft.")})
    addresses = recipients(data)
    if not addresses:
        raise Invalid({"to": _("Enter at least one recipient.")})
    files = [*_kept(session, who, data), *uploads]
    raw = _as_bytes(build(sender, data, attachments=files, settings=settings), settings)
    sent = routing.submit(session, sender, raw, addresses, settings)
    if draft is not None:
        mailbox.delete_entry(session, who, draft.id)
    return sent


def save_draft(
    session: Session,
    sender: User,
    data: MailIn,
    settings: Settings,
    *,
    uploads: Sequence[Upload] = (),
) -> MailEntry:
    """Keep the form as a draft (a new one, or in place of ``data.draft_id``)."""
    who = load_who(session, sender)
    files = [*_kept(session, who, data), *uploads]
    message = build(sender, data, attachments=files, settings=settings, keep_bcc=True)
    return mailbox.save_draft(session, who, _as_bytes(message, settings), draft_id=data.draft_id)


# -- reply, reply to all, forward, draft ------------------------------------------------------


def reply_subject(subject: str) -> str:
    return subject if REPLY_PREFIX.match(subject) else f"Re: {subject}".strip()


def forward_subject(subject: str) -> str:
    return subject if FORWARD_PREFIX.match(subject) else f"Fwd: {subject}".strip()


def _text_of(message: MailMessage) -> str:
    return message.text or sanitize.html_to_text(message.html)


def _when(message: MailMessage) -> dt.datetime:
    return message.sent_at or message.received_at


def _sender(message: MailMessage) -> str:
    return email.utils.formataddr((message.from_name, message.from_address))


def quote(message: MailMessage) -> str:
    """The original's text, each line with "> ", under who wrote it and when."""
    said = _(
        "On %(date)s, %(name)s wrote:",
        date=format_datetime(_when(message)),
        name=message.from_name or message.from_address,
    )
    lines = [f"> {line}" if line else ">" for line in _text_of(message).splitlines()]
    return "\n\n{}\n{}\n".format(said, "\n".join(lines))


def forwarded(message: MailMessage) -> str:
    head = [
        _("---------- Forwarded message ----------"),
        "{}: {}".format(_("From"), _sender(message)),
        "{}: {}".format(_("Date"), format_datetime(_when(message))),
        "{}: {}".format(_("Subject"), message.subject),
        "{}: {}".format(_("To"), ", ".join(message.to_addresses)),
    ]
    if message.cc_addresses:
        head.append("{}: {}".format(_("Cc"), ", ".join(message.cc_addresses)))
    return "\n\n{}\n\n{}\n".format("\n".join(head), _text_of(message))


def _unique(addresses: Sequence[str], own: set[str]) -> list[str]:
    found: dict[str, str] = {}
    for value in addresses:
        for name, address in email.utils.getaddresses([value]):
            key = address.lower()
            if address and key not in own and key not in found:
                found[key] = email.utils.formataddr((name, address))
    return list(found.values())


def prefill(
    session: Session, user: User, settings: Settings, *, kind: str, entry_id: int
) -> dict[str, Any]:
    """The compose form for ``kind`` (reply, reply_all, forward, draft) of an entry."""
    who = load_who(session, user)
    entry = mailbox.get_entry_for_user(session, who, entry_id)
    message = entry.message
    if kind == "draft":
        return _draft_form(entry)
    own = set(senders.sendable(session, user, settings.mail_domain))
    references = " ".join([*mailbox.header(message, "References").split(), message.message_id])
    threading = {"in_reply_to": message.message_id, "references": references.strip()}
    if kind == "forward":
        return {
            "subject": forward_subject(message.subject),
            "text": forwarded(message),
            "source_id": entry.id,
            "keep": [p.number for p in mailbox.attachments(message)],
        }
    mine = message.from_address.lower() in own
    # a reply goes out from the address it came to (a team's, an alias)
    came_to = _addresses([mailbox.header(message, "To"), mailbox.header(message, "Cc")])
    answer_as = next((a for a in came_to if a.lower() in own), "")
    reply_to = mailbox.header(message, "Reply-To")
    if mine:  # answering one's own message goes to its recipients again
        to = _unique([mailbox.header(message, "To")], set())
    else:
        to = _unique([reply_to or _sender(message)], set())
    cc: list[str] = []
    if kind == "reply_all":
        others = [] if mine else [mailbox.header(message, "To")]
        to = _unique([*to, *others], own)
        cc = _unique([mailbox.header(message, "Cc")], own | {a.lower() for a in _addresses(to)})
    return {
        "from_address": "" if mine else answer_as.lower(),
        "to": ", ".join(to),
        "cc": ", ".join(cc),
        "subject": reply_subject(message.subject),
        "text": quote(message),
        **threading,
    }


def _addresses(values: Sequence[str]) -> list[str]:
    return [address for _name, address in email.utils.getaddresses(list(values))]


def _draft_form(entry: MailEntry) -> dict[str, Any]:
    if entry.folder != "drafts":
        raise Invalid({"draft_id": _("This message is not a draft.")})
    message = entry.message
    return {
        "from_address": message.from_address,
        "to": mailbox.header(message, "To"),
        "cc": mailbox.header(message, "Cc"),
        "bcc": mailbox.header(message, "Bcc"),
        "subject": message.subject,
        "text": message.text,
        "in_reply_to": message.in_reply_to,
        "references": mailbox.header(message, "References"),
        "source_id": entry.id,
        "keep": [p.number for p in mailbox.attachments(message)],
        "draft_id": entry.id,
    }


# -- address completion --------------------------------------------------------------------


@dataclass(frozen=True)
class Contact:
    name: str
    address: str
    kind: str  # user, person, partner

    @property
    def label(self) -> str:
        return email.utils.formataddr((self.name, self.address))


def address_book(session: Session, who: Who, q: str, *, limit: int = 10) -> list[Contact]:
    """Colleagues, then persons and partners ``who`` may see, whose name or address
    contains ``q``: at most ``limit``."""
    from groupware.crm.models import Partner, Person

    q = q.strip()
    if len(q) < 1:
        return []
    pattern = f"%{escape_like(q.lower())}%"

    def like(*columns: Any) -> Any:
        return or_(*(func.lower(c).like(pattern, escape="\\") for c in columns))

    users = (
        select(User.full_name, User.email)
        .where(User.is_active, User.email != "", like(User.full_name, User.email, User.username))
        .order_by(User.full_name)
        .limit(limit)
    )
    person_name = Person.first_name + " " + Person.last_name
    persons = (
        select(person_name, Person.email)
        .where(Person.email != "", like(person_name, Person.email), visible(Person, who))
        .order_by(Person.last_name)
        .limit(limit)
    )
    partners = (
        select(Partner.name, Partner.email)
        .where(
            Partner.email != "",
            Partner.status != "merged",
            like(Partner.name, Partner.email),
            visible(Partner, who),
        )
        .order_by(Partner.name)
        .limit(limit)
    )
    found: dict[str, Contact] = {}
    for kind, query in (("user", users), ("person", persons), ("partner", partners)):
        for name, address in session.execute(query):
            found.setdefault(address.lower(), Contact(name.strip(), address, kind))
    return list(found.values())[:limit]
