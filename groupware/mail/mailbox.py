"""A person's mailbox, as the web mail and the API work it.

Everything goes through :func:`get_entry_for_user`: a user reaches only their own
:class:`MailEntry` rows (a message in one of their folders), and someone else's is a
404 like one that does not exist. On top of that: a folder's page of messages with
search, the counts per folder, a message's thread, read/unread, moving between folders,
deleting from the trash, the private flag, filing a message on a deal or a partner by
hand, drafts, and the message's parts (attachments, inline images).

Nothing here commits; the caller owns the transaction.
"""

from __future__ import annotations

import email
import email.parser
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage, Message
from typing import Any

from sqlalchemy import (
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, contains_eager, defer

from groupware.access.policy import Who, get_for_user, visible
from groupware.db import escape_like
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l
from groupware.mail import filing, parsing, senders
from groupware.mail.models import FOLDERS, MailEntry, MailLink, MailMessage, MailOutbox
from groupware.search import Terms

PAGE_SIZE = 50
MOVES = ("inbox", "sent", "archive", "trash")
NO_MESSAGE = _l("There is no such message, or it is not yours.")


# -- access ---------------------------------------------------------------------------


def get_entry_for_user(session: Session, who: Who, entry_id: int) -> MailEntry:
    """One of ``who``'s mailbox entries with its message; anyone else's is a 404."""
    query = (
        select(MailEntry)
        .join(MailEntry.message)
        .options(contains_eager(MailEntry.message))
        .where(MailEntry.id == entry_id, MailEntry.user_id == who.id)
    )
    entry = session.scalar(query)
    if entry is None:
        raise NotFound(NO_MESSAGE)
    return entry


def _listed() -> Any:
    """Load a listed entry's message without what a list does not show."""
    return contains_eager(MailEntry.message).options(
        defer(MailMessage.raw), defer(MailMessage.html), defer(MailMessage.text)
    )


def _folder(folder: str) -> str:
    if folder not in FOLDERS:
        raise Invalid({"folder": _l("There is no such folder.")})
    return folder


# -- lists and counts -----------------------------------------------------------------


def search_clause(q: str) -> Any:
    """Every word of ``q`` in the subject, the sender, a recipient or the text (any
    case; the same on SQLite, whose ``lower`` is replaced by a Unicode one, and
    PostgreSQL)."""
    columns = (
        MailMessage.subject,
        MailMessage.from_address,
        MailMessage.from_name,
        cast(MailMessage.to_addresses, String),
        cast(MailMessage.cc_addresses, String),
        MailMessage.text,
    )
    words = []
    for word in q.split()[:10]:
        pattern = f"%{escape_like(word.lower())}%"
        # A message with only an HTML part is searched in its HTML.
        html_only = and_(
            MailMessage.text == "", func.lower(MailMessage.html).like(pattern, escape="\\")
        )
        words.append(or_(*(func.lower(c).like(pattern, escape="\\") for c in columns), html_only))
    return and_(*words)


# How far back the header's search looks in a mailbox: each message is folded on the
# fly (gw_fold, about 10 us on PostgreSQL and more on SQLite), so a mailbox of 50,000
# would cost a second. The mail page's own search (its link) looks through them all.
SEARCHED_RECENT = 2000


def search_rows(session: Session, who: Who, terms: Terms) -> Select[Any]:
    """The user's own mail the header's search finds (``groupware.search``): every typed
    word starts a word of the subject or the sender, ignoring case and diacritics;
    among their newest :data:`SEARCHED_RECENT` messages outside the bin, newest first.
    Id (of the user's entry), subject, sender."""
    recent = (
        select(MailEntry.id)
        .where(MailEntry.user_id == who.id, MailEntry.folder != "trash")
        .order_by(MailEntry.id.desc())
        .limit(SEARCHED_RECENT)
        .subquery()
    )
    said = MailMessage.subject.op("||")(literal(" ")).op("||")(MailMessage.from_name)
    said = said.op("||")(literal(" ")).op("||")(MailMessage.from_address)
    folded = literal(" ").op("||")(func.gw_fold(said))
    sender = case(
        (MailMessage.from_name != "", MailMessage.from_name), else_=MailMessage.from_address
    )
    return (
        select(MailEntry.id, MailMessage.subject, sender)
        .join(recent, recent.c.id == MailEntry.id)
        .join(MailMessage, MailMessage.id == MailEntry.message_id)
        .where(*(folded.like(f"% {word}%") for word in terms.words))
        .order_by(MailEntry.id.desc())
    )


def folder_query(
    who: Who, folder: str, *, q: str = "", before: int | None = None, unread: bool = False
) -> Select[Any]:
    """``who``'s entries in ``folder`` (only the unread ones with ``unread``), newest
    first, with their messages (without the raw bytes and the HTML); ``before`` is the
    id of the last entry of the page before."""
    query = (
        select(MailEntry)
        .join(MailEntry.message)
        .options(_listed())
        .where(MailEntry.user_id == who.id, MailEntry.folder == _folder(folder))
        .order_by(MailEntry.id.desc())
    )
    if q.strip():
        query = query.where(search_clause(q))
    if before is not None:
        query = query.where(MailEntry.id < before)
    if unread:
        query = query.where(MailEntry.seen.is_(False))
    return query


def list_folder(
    session: Session,
    who: Who,
    folder: str,
    *,
    q: str = "",
    before: int | None = None,
    unread: bool = False,
    limit: int = PAGE_SIZE,
) -> list[MailEntry]:
    """A page of ``folder``: up to ``limit + 1`` entries (one more says there are more)."""
    query = folder_query(who, folder, q=q, before=before, unread=unread).limit(limit + 1)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Counts:
    total: int = 0
    unread: int = 0


def folder_counts(session: Session, who: Who) -> dict[str, Counts]:
    """Messages and unread messages in each of ``who``'s folders."""
    unread = func.sum(case((MailEntry.seen.is_(False), 1), else_=0))
    rows = session.execute(
        select(MailEntry.folder, func.count(), unread)
        .where(MailEntry.user_id == who.id)
        .group_by(MailEntry.folder)
    )
    found = {folder: Counts(int(total), int(unseen or 0)) for folder, total, unseen in rows}
    return {folder: found.get(folder, Counts()) for folder in FOLDERS}


def unread_inbox(session: Session, user_id: int) -> int:
    """Unread messages in the inbox (the shell shows it beside "Mail")."""
    query = select(func.count()).where(
        MailEntry.user_id == user_id, MailEntry.folder == "inbox", MailEntry.seen.is_(False)
    )
    return int(session.scalar(query) or 0)


def thread_of(session: Session, who: Who, entry: MailEntry) -> list[MailEntry]:
    """The conversation ``entry`` belongs to, as far as ``who`` has it, oldest first
    (one entry per message, drafts left out)."""
    key = entry.message.thread
    if not key:
        return [entry]
    query = (
        select(MailEntry)
        .join(MailEntry.message)
        .options(_listed())
        .where(
            MailEntry.user_id == who.id,
            MailMessage.thread == key,
            MailEntry.folder != "drafts",
        )
        .order_by(MailMessage.received_at, MailEntry.id)
    )
    seen: dict[int, MailEntry] = {entry.message_id: entry}
    for row in session.scalars(query):
        seen.setdefault(row.message_id, row)
    return sorted(seen.values(), key=lambda e: (e.message.received_at, e.id))


# -- changes ----------------------------------------------------------------------------


def mark_seen(session: Session, who: Who, entry_id: int, seen: bool = True) -> MailEntry:
    entry = get_entry_for_user(session, who, entry_id)
    entry.seen = seen
    session.flush()
    return entry


def move(session: Session, who: Who, entry_id: int, folder: str) -> MailEntry:
    """Move a message to the inbox, "sent", the archive or the trash (a draft is only
    discarded, see :func:`delete_entry`)."""
    entry = get_entry_for_user(session, who, entry_id)
    if folder not in MOVES:
        raise Invalid(
            {"folder": _l("Messages can be moved to the inbox, the archive or the trash.")}
        )
    if entry.folder == "drafts":
        raise Invalid({"folder": _l("A draft is sent or discarded, not moved.")})
    entry.folder = folder
    session.flush()
    return entry


def home_folder(session: Session, who: Who, entry: MailEntry, mail_domain: str) -> str:
    """Where a message goes back to from the trash: "sent" if ``who`` sent it."""
    from groupware.accounts.models import User

    user = session.get(User, who.id)
    if user is None:
        return "inbox"
    own = senders.sendable(session, user, mail_domain)
    return "sent" if entry.message.from_address.lower() in own else "inbox"


def set_private(session: Session, who: Who, entry_id: int, private: bool) -> MailEntry:
    """A private message is not shown on the deals and partners it is filed on."""
    entry = get_entry_for_user(session, who, entry_id)
    entry.private = private
    session.flush()
    return entry


def delete_entry(session: Session, who: Who, entry_id: int) -> None:
    """Delete a message from the trash for good, or discard a draft."""
    entry = get_entry_for_user(session, who, entry_id)
    if entry.folder not in ("trash", "drafts"):
        raise Invalid({"folder": _l("Move the message to the trash first.")})
    _delete(session, [entry])


def empty_trash(session: Session, who: Who) -> int:
    entries = list(
        session.scalars(
            select(MailEntry).where(MailEntry.user_id == who.id, MailEntry.folder == "trash")
        )
    )
    _delete(session, entries)
    return len(entries)


def _delete(session: Session, entries: list[MailEntry]) -> None:
    """Delete entries, and the messages nobody else has, filed nowhere and not waiting
    for the smarthost."""
    message_ids = {e.message_id for e in entries}
    for entry in entries:
        session.delete(entry)
    session.flush()
    if not message_ids:
        return
    kept = or_(
        exists().where(MailEntry.message_id == MailMessage.id),
        exists().where(MailLink.message_id == MailMessage.id),
        exists().where(MailOutbox.message_id == MailMessage.id, MailOutbox.state == "queued"),
    )
    session.execute(
        delete(MailMessage)
        .where(MailMessage.id.in_(message_ids), ~kept)
        .execution_options(synchronize_session="fetch")
    )


# -- filing on records by hand --------------------------------------------------------------


@dataclass(frozen=True)
class FiledOn:
    """A record a message is filed on, as the reader may see it."""

    link_id: int
    record_type: str
    record_id: int
    label: str
    how: str


def _kind(record_type: str) -> filing.FilingKind:
    kind = next((k for k in filing.kinds() if k.record_type == record_type), None)
    if kind is None:
        raise Invalid({"record_type": _l("Mail cannot be filed on this kind of record.")})
    return kind


def _record_for_user(session: Session, who: Who, record_type: str, record_id: int) -> str:
    """The record's name, through the access check (404 if ``who`` may not see it)."""
    kind = _kind(record_type)
    model = kind.id_column.class_
    return str(get_for_user(session, who, model, record_id))


def link_record(
    session: Session, who: Who, entry_id: int, record_type: str, record_id: int
) -> MailLink:
    """File the message of one of ``who``'s entries on a deal or a partner they may see."""
    entry = get_entry_for_user(session, who, entry_id)
    _record_for_user(session, who, record_type, record_id)
    found = session.scalar(
        select(MailLink).where(
            MailLink.message_id == entry.message_id,
            MailLink.record_type == record_type,
            MailLink.record_id == record_id,
        )
    )
    if found is not None:
        return found
    link = MailLink(
        message_id=entry.message_id, record_type=record_type, record_id=record_id, how="manual"
    )
    session.add(link)
    session.flush()
    return link


def unlink_record(session: Session, who: Who, entry_id: int, link_id: int) -> None:
    """Take back a filing made by hand (filings by address, tag or contact stay)."""
    entry = get_entry_for_user(session, who, entry_id)
    link = session.scalar(
        select(MailLink).where(MailLink.id == link_id, MailLink.message_id == entry.message_id)
    )
    if link is None:
        raise NotFound(_l("The message is not filed there."))
    _record_for_user(session, who, link.record_type, link.record_id)
    if link.how != "manual":
        raise Invalid({"link": _l("Only a filing made by hand can be removed.")})
    session.delete(link)
    session.flush()


def filed_on(session: Session, who: Who, message_id: int) -> list[FiledOn]:
    """The records a message is filed on that ``who`` may see."""
    links = list(session.scalars(select(MailLink).where(MailLink.message_id == message_id)))
    labels: dict[tuple[str, int], str] = {}
    for kind in filing.kinds():
        ids = [link.record_id for link in links if link.record_type == kind.record_type]
        if ids and kind.name is not None:
            model = kind.id_column.class_
            rows = session.execute(
                select(kind.id_column, kind.name).where(
                    kind.id_column.in_(ids), visible(model, who)
                )
            )
            labels.update(((kind.record_type, row_id), label) for row_id, label in rows)
    return [
        FiledOn(link.id, link.record_type, link.record_id, labels[key], link.how)
        for link in sorted(links, key=lambda x: x.id)
        if (key := (link.record_type, link.record_id)) in labels
    ]


def record_choices(session: Session, who: Who, q: str, *, limit: int = 10) -> list[FiledOn]:
    """Records of every filing kind named like ``q`` that ``who`` may see (to file
    mail on by hand), each kind's newest or best first."""
    q = q.strip()
    if not q:
        return []
    found: list[FiledOn] = []
    # The later areas' records first: they build on the earlier ones' and say more
    # (a deal or a campaign before its partner).
    for kind in reversed(filing.kinds()):
        if kind.name is None:
            continue
        if kind.choices is not None:
            query = kind.choices(who, q)
        else:
            pattern = f"%{escape_like(q.lower())}%"
            query = (
                select(kind.id_column, kind.name)
                .where(
                    func.lower(kind.name).like(pattern, escape="\\"),
                    visible(kind.id_column.class_, who),
                )
                .order_by(kind.id_column.desc())
            )
        rows = session.execute(query.limit(limit))
        found.extend(FiledOn(0, kind.record_type, i, name, "") for i, name in rows)
    return found[:limit]


# -- drafts ---------------------------------------------------------------------------------


def _fill(message: MailMessage, raw: bytes) -> MailMessage:
    parsed = parsing.parse(raw)
    message.message_id = parsed.message_id
    message.in_reply_to = parsed.in_reply_to
    message.subject = parsed.subject
    message.from_address = parsed.from_address
    message.from_name = parsed.from_name
    message.to_addresses = parsed.to
    message.cc_addresses = parsed.cc
    message.sent_at = parsed.sent_at
    message.size = len(raw)
    message.text = parsed.text
    message.html = parsed.html
    message.attachments = parsed.attachments
    message.raw = raw
    message.thread = parsed.thread
    return message


def save_draft(session: Session, who: Who, raw: bytes, *, draft_id: int | None = None) -> MailEntry:
    """Keep ``raw`` in ``who``'s drafts: a new draft, or in place of ``draft_id``."""
    if draft_id is not None:
        entry = get_entry_for_user(session, who, draft_id)
        if entry.folder != "drafts":
            raise Invalid({"draft_id": _l("This message is not a draft.")})
        _fill(entry.message, raw)
        session.flush()
        return entry
    assert who.id is not None
    message = _fill(MailMessage(), raw)
    session.add(message)
    session.flush()
    entry = MailEntry(message_id=message.id, user_id=who.id, folder="drafts", seen=True)
    entry.message = message
    session.add(entry)
    session.flush()
    return entry


# -- parts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """A leaf part of a message: ``number`` counts them from 1 in the message's order."""

    number: int
    name: str
    type: str
    size: int
    content_id: str
    attachment: bool


def _tree(message: MailMessage) -> EmailMessage:
    tree = email.message_from_bytes(message.raw, policy=email.policy.default)
    assert isinstance(tree, EmailMessage)
    return tree


def _leaves(tree: Message) -> list[Message]:
    return [part for part in tree.walk() if not part.is_multipart()]


def _part(number: int, part: Message) -> tuple[Part, bytes]:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    info = Part(
        number=number,
        name=part.get_filename() or "",
        type=part.get_content_type(),
        size=len(data),
        content_id=str(part.get("Content-ID", "") or "").strip().strip("<>"),
        attachment=part.get_content_disposition() == "attachment" or bool(part.get_filename()),
    )
    return info, data


def parts(message: MailMessage) -> list[Part]:
    """Every leaf part of the message (its texts, attachments and inline images)."""
    return [_part(n, leaf)[0] for n, leaf in enumerate(_leaves(_tree(message)), start=1)]


def part_payload(message: MailMessage, number: int) -> tuple[Part, bytes]:
    """One part's decoded bytes (404 for a number the message does not have)."""
    leaves = _leaves(_tree(message))
    if not 1 <= number <= len(leaves):
        raise NotFound(_l("The message has no such part."))
    return _part(number, leaves[number - 1])


def attachments(message: MailMessage) -> list[Part]:
    return [p for p in parts(message) if p.attachment]


def header(message: MailMessage, name: str) -> str:
    """One header of the raw message, decoded ("" when it has none)."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.default)
    return str(parser.parsebytes(message.raw).get(name, "") or "")
