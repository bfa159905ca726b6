"""API: ``/mailboxes`` (your folders with their counts) and ``/messages`` (a folder's
messages with search, one message, read/unread, moving, private, deleting from the
trash, and sending). A message's ``id`` is that of your copy of it (your mailbox
entry): nobody reaches another person's."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import select

from groupware.api import Api, Call, PageQuery, page_of
from groupware.mail import compose, mailbox, sanitize
from groupware.mail.models import MailEntry
from groupware.validation import OptionalId, Schema

api = Api("mail")
Folder = Literal["inbox", "sent", "drafts", "archive", "trash"]


class MailboxOut(BaseModel):
    name: Folder
    total: int
    unread: int


class MailboxListOut(BaseModel):
    items: list[MailboxOut]


class MessageQuery(PageQuery):
    folder: Folder = "inbox"
    q: str = Field(default="", max_length=200, description="words in subject, addresses, text")


class AttachmentOut(BaseModel):
    number: int
    name: str
    type: str
    size: int


class LinkOut(BaseModel):
    id: int
    record_type: str
    record_id: int
    label: str
    how: str


class MessageOut(BaseModel):
    id: int
    folder: Folder
    seen: bool
    private: bool
    subject: str
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    sent_at: dt.datetime | None
    received_at: dt.datetime
    size: int
    has_attachments: bool
    message_id: str = Field(description="the Message-ID header")
    in_reply_to: str
    thread: str


class MessageDetailOut(MessageOut):
    text: str
    html: str = Field(description="the HTML part, sanitised, remote images left out")
    attachments: list[AttachmentOut]
    links: list[LinkOut]


class MessagePatch(Schema):
    seen: bool | None = None
    folder: Literal["inbox", "sent", "archive", "trash"] | None = None
    private: bool | None = None


class SendIn(Schema):
    from_address: str = Field(
        default="",
        max_length=320,
        description="your own address, an alias of yours or your team's; empty: your own",
    )
    to: list[str] = Field(default_factory=list, max_length=compose.MAX_ADDRESSES)
    cc: list[str] = Field(default_factory=list, max_length=compose.MAX_ADDRESSES)
    bcc: list[str] = Field(default_factory=list, max_length=compose.MAX_ADDRESSES)
    subject: str = Field(default="", max_length=900)
    text: str = Field(default="", max_length=1_000_000)
    in_reply_to: OptionalId = Field(
        default=None, description="the id of one of your messages this answers"
    )


def message_out(entry: MailEntry) -> MessageOut:
    m = entry.message
    return MessageOut(
        id=entry.id,
        folder=entry.folder,
        seen=entry.seen,
        private=entry.private,
        subject=m.subject,
        from_name=m.from_name,
        from_address=m.from_address,
        to=list(m.to_addresses),
        cc=list(m.cc_addresses),
        sent_at=m.sent_at,
        received_at=m.received_at,
        size=m.size,
        has_attachments=bool(m.attachments),
        message_id=m.message_id,
        in_reply_to=m.in_reply_to,
        thread=m.thread,
    )


def _detail(call: Call, entry: MailEntry) -> MessageDetailOut:
    m = entry.message
    return MessageDetailOut(
        **message_out(entry).model_dump(),
        text=m.text,
        html=str(sanitize.render_html(m.html).html) if m.html else "",
        attachments=[
            AttachmentOut(number=p.number, name=p.name, type=p.type, size=p.size)
            for p in mailbox.attachments(m)
        ],
        links=[
            LinkOut(
                id=f.link_id,
                record_type=f.record_type,
                record_id=f.record_id,
                label=f.label,
                how=f.how,
            )
            for f in mailbox.filed_on(call.db, call.who, m.id)
        ],
    )


@api.operation(
    "GET",
    "/mailboxes",
    summary="Your folders with how many messages they hold and how many are unread",
    response=MailboxListOut,
)
def list_mailboxes(call: Call) -> MailboxListOut:
    counts = mailbox.folder_counts(call.db, call.who)
    return MailboxListOut(
        items=[MailboxOut(name=name, total=c.total, unread=c.unread) for name, c in counts.items()]
    )


@api.operation(
    "GET",
    "/messages",
    summary="The messages of one of your folders, newest first, optionally searched",
    response=MessageOut,
    query=MessageQuery,
    paginated=True,
)
def list_messages(call: Call) -> tuple[list[MessageOut], str | None]:
    q: MessageQuery = call.query
    query = mailbox.folder_query(call.who, q.folder, q=q.q, before=q.after_id())
    rows = list(call.db.scalars(query.limit(q.limit + 1)))
    page, cursor = page_of(rows, q.limit)
    return [message_out(e) for e in page], cursor


@api.operation(
    "GET",
    "/messages/{message_id}",
    summary="One of your messages with its text, attachments and filings",
    response=MessageDetailOut,
)
def get_message(call: Call) -> MessageDetailOut:
    entry = mailbox.get_entry_for_user(call.db, call.who, call.int_param("message_id"))
    return _detail(call, entry)


@api.operation(
    "PATCH",
    "/messages/{message_id}",
    summary="Mark a message read or unread, move it, or make it private",
    response=MessageDetailOut,
    body=MessagePatch,
)
def patch_message(call: Call) -> MessageDetailOut:
    data: MessagePatch = call.body
    entry_id = call.int_param("message_id")
    entry = mailbox.get_entry_for_user(call.db, call.who, entry_id)
    if data.folder is not None and data.folder != entry.folder:
        mailbox.move(call.db, call.who, entry_id, data.folder)
    if data.seen is not None:
        mailbox.mark_seen(call.db, call.who, entry_id, data.seen)
    if data.private is not None:
        mailbox.set_private(call.db, call.who, entry_id, data.private)
    return _detail(call, entry)


@api.operation(
    "DELETE",
    "/messages/{message_id}",
    summary="Delete a message from the trash for good, or discard a draft",
    status=204,
)
def delete_message(call: Call) -> None:
    mailbox.delete_entry(call.db, call.who, call.int_param("message_id"))


def _addresses(values: list[str], field: str) -> str:
    return ", ".join(str(a) for value in values for a in compose.parse_addresses(value, field))


@api.operation(
    "POST",
    "/messages",
    summary="Send a message (to colleagues, filing addresses, or outside via the smarthost)",
    response=MessageDetailOut,
    body=SendIn,
    status=201,
)
def send_message(call: Call) -> MessageDetailOut:
    body: SendIn = call.body
    form: dict[str, str] = {}
    if body.in_reply_to is not None:
        original = mailbox.get_entry_for_user(call.db, call.who, body.in_reply_to)
        references = mailbox.header(original.message, "References")
        form = {"in_reply_to": original.message.message_id, "references": references}
    data = compose.MailIn(
        from_address=body.from_address,
        to=_addresses(body.to, "to"),
        cc=_addresses(body.cc, "cc"),
        bcc=_addresses(body.bcc, "bcc"),
        subject=body.subject,
        text=body.text,
        **form,
    )
    sent = compose.send(call.db, call.user, data, call.gw.settings)
    entry = call.db.scalar(
        select(MailEntry).where(
            MailEntry.message_id == sent.id,
            MailEntry.user_id == call.user.id,
            MailEntry.folder == "sent",
        )
    )
    assert entry is not None  # deliver always files the sender's copy
    return _detail(call, mailbox.get_entry_for_user(call.db, call.who, entry.id))
