"""Mail kept in the database: each message once, exactly as it arrived, and one mailbox
entry per person who has it (their folder, read or not, private or not).

``mail_messages`` holds the raw message (``raw``, the bytes as received, so nothing is
ever lost to parsing) and what the web mail and search need parsed out of it: headers,
the text, attachments' names and sizes. ``mail_entries`` puts a message into a user's
folder (inbox, sent, drafts, trash, archive). ``mail_addresses`` are the company's
extra addresses (a person's aliases, a team's shared address) and ``mail_outbox`` the
persistent queue of messages for outside recipients, sent through the smarthost.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from groupware.accounts.models import Team, User
from groupware.db import Base, JSONType, utcnow

FOLDERS = ("inbox", "sent", "drafts", "trash", "archive")


class MailMessage(Base):
    __tablename__ = "mail_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    in_reply_to: Mapped[str] = mapped_column(String(998), default="")
    subject: Mapped[str] = mapped_column(String(998), default="")
    from_address: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(300), default="")
    to_addresses: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    cc_addresses: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    envelope_from: Mapped[str] = mapped_column(String(320), default="")
    envelope_to: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    sent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    size: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str] = mapped_column(Text, default="")
    # [{name, type, size}]
    attachments: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # The conversation: a digest of the first Message-ID of References (or In-Reply-To,
    # or the message's own), so a reply lands in its original's thread.
    thread: Mapped[str] = mapped_column(String(40), default="")
    # One delivery of a message to its envelope (mail/delivery.py's delivery_key): a
    # filing tried again after a lost connection, or a client sending again after a
    # 451, finds the first one instead of keeping the message twice. None for mail
    # written on the web.
    delivery_key: Mapped[str | None] = mapped_column(String(64), default=None)

    # No index on message_id: nothing looks messages up by it (conversations go by
    # ``thread``), and every filed message paid for keeping one.
    __table_args__ = (
        Index("ix_mail_messages_thread", "thread"),
        Index("ix_mail_messages_delivery_key", "delivery_key", unique=True),
    )


class MailEntry(Base):
    """A message in one person's folder."""

    __tablename__ = "mail_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("mail_messages.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(10), default="inbox")
    seen: Mapped[bool] = mapped_column(default=False)
    private: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    message: Mapped[MailMessage] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("folder IN ('inbox', 'sent', 'drafts', 'trash', 'archive')", name="folder"),
        Index("ix_mail_entries_user_id_folder_created_at", "user_id", "folder", "created_at"),
        Index("ix_mail_entries_message_id", "message_id"),
    )


class MailLink(Base):
    """A message filed on a record (a deal, a partner): its correspondence timeline."""

    __tablename__ = "mail_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("mail_messages.id", ondelete="CASCADE"))
    record_type: Mapped[str] = mapped_column(String(32))
    record_id: Mapped[int] = mapped_column(Integer)
    # address (a filing address), tag ([D-12] in the subject), contact (exchanged with a
    # partner's known address), manual (someone filed it by hand)
    how: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    message: Mapped[MailMessage] = relationship()

    __table_args__ = (
        CheckConstraint("how IN ('address', 'tag', 'contact', 'manual')", name="how"),
        Index("ix_mail_links_record", "record_type", "record_id"),
        Index(
            "ix_mail_links_message_id_record", "message_id", "record_type", "record_id", unique=True
        ),
    )


class MailAddress(Base):
    """An extra address of the company: a person's alias (``prodaja.ana@``) or a team's
    shared address (``prodaja@``, delivered to every member)."""

    __tablename__ = "mail_addresses"
    __tracked__ = True

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_part: Mapped[str] = mapped_column(String(64), unique=True)  # lower case
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), default=None, index=True
    )
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), default=None, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()
    team: Mapped[Team | None] = relationship()

    __table_args__ = (CheckConstraint("(user_id IS NULL) <> (team_id IS NULL)", name="owner"),)

    def __str__(self) -> str:
        return self.local_part


OUTBOX_STATES = ("queued", "sent", "failed")


class MailOutbox(Base):
    """One outside recipient of one message, until the smarthost took it (``sent``) or
    it finally failed (``failed``, and the sender got a bounce)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("mail_messages.id", ondelete="CASCADE"))
    sender: Mapped[str] = mapped_column(String(320), default="")  # envelope sender
    recipient: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(8), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    done_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    message: Mapped[MailMessage] = relationship()

    __table_args__ = (
        CheckConstraint("state IN ('queued', 'sent', 'failed')", name="state"),
        Index("ix_mail_outbox_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_mail_outbox_message_id", "message_id"),
    )
