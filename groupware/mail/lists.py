"""A mail folder as a list people shape (:mod:`groupware.lists`), declared in the mail
area's ``area.py``: the user's own messages of a folder (the inbox by default), newest
first, searched by every word; the dashboard's unread mail narrows it to the unread
ones. Bulk actions: moving to another folder and marking read or unread, each with its
undo. Mail is personal: the list has no export."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Select, String, case, cast, func, literal, select
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.errors import Invalid
from groupware.i18n import _l, ngettext
from groupware.lists.bulk import field_action
from groupware.lists.declare import Column, ListDef
from groupware.mail import mailbox
from groupware.mail.models import FOLDERS, MailEntry, MailMessage

FOLDER_LABELS: dict[str, Any] = {
    "inbox": _l("Inbox"),
    "sent": _l("Sent"),
    "drafts": _l("Drafts"),
    "archive": _l("Archive"),
    "trash": _l("Trash"),
}


def _rows(who: Who, filters: Mapping[str, str], action: str) -> Select[Any]:
    folder = filters.get("folder", "inbox")
    query = (
        select(MailEntry)
        .join(MailMessage, MailMessage.id == MailEntry.message_id)
        .where(
            MailEntry.user_id == who.id,
            MailEntry.folder == (folder if folder in FOLDERS else "inbox"),
        )
    )
    if filters.get("unread") == "1":  # the dashboard's unread mail links here
        query = query.where(MailEntry.seen.is_(False))
    q = filters.get("q", "")[:200]
    return query.where(mailbox.search_clause(q)) if q.strip() else query


def _unread(session: Session, who: Who, value: str) -> str:
    return str(_l("Unread messages")) if value == "1" else ""


def _recipients() -> Any:
    """The recipients as text: the JSON list without its brackets and quotes."""
    text: Any = cast(MailMessage.to_addresses, String)
    for old, new in (("[]", ""), ('["', ""), ('"]', ""), ('", "', ", ")):
        text = func.replace(text, old, new)
    return text


def _load(session: Session, who: Who, entry_id: int) -> MailEntry:
    return mailbox.get_entry_for_user(session, who, entry_id)


def _not_a_draft(session: Session, who: Who, entry: MailEntry) -> None:
    if entry.folder == "drafts":
        raise Invalid({"value": _l("A draft is sent or discarded, not moved.")})


def _folders(session: Session, who: Who) -> list[tuple[str, str]]:
    return [(f, str(FOLDER_LABELS[f])) for f in ("inbox", "archive", "trash")]


def _read_or_not(session: Session, who: Who) -> list[tuple[str, str]]:
    return [("1", str(_l("read"))), ("0", str(_l("unread")))]


SENT_OR_DRAFT = MailEntry.folder.in_(("sent", "drafts"))

MAIL = ListDef(
    name="mail",
    label=_l("Mail"),
    endpoint="mail",
    model=MailEntry,
    query=_rows,
    filters=("folder", "q", "unread"),
    narrowing={"unread": _unread},
    default_filters={"folder": "inbox"},
    columns=(
        Column(
            "who",
            _l("From or to"),
            case(
                (SENT_OR_DRAFT, _recipients()),
                else_=func.coalesce(
                    func.nullif(MailMessage.from_name, ""), MailMessage.from_address
                ),
            ),
        ),
        Column(
            "subject",
            _l("Subject"),
            MailMessage.subject,
            link=(
                "{id}",
                case(
                    (
                        MailEntry.folder == "drafts",
                        literal("/mail/compose?draft=") + cast(MailEntry.id, String),
                    ),
                    else_=literal("/mail/") + cast(MailEntry.id, String),
                ),
            ),
            badge=(
                case((MailEntry.private, literal("private")), else_=literal("")),
                {"private": _l("private")},
            ),
        ),
        Column(
            "date",
            _l("Date"),
            func.coalesce(MailMessage.sent_at, MailMessage.received_at),
            show="datetime",
            sort=(MailEntry.id,),
        ),
        Column(
            "attachments",
            _l("With attachments"),
            cast(MailMessage.attachments, String) != "[]",
            show="yes_no",
        ),
        Column("size", _l("Size (bytes)"), MailMessage.size, show="number"),
        Column("seen", _l("Read"), MailEntry.seen, show="yes_no"),
    ),
    default_columns=("who", "subject", "date"),
    default_sort="-date",
    bulk=(
        field_action(
            "move",
            _l("Move to a folder"),
            MailEntry,
            "folder",
            choices=_folders,
            value_label=_l("Folder"),
            load=_load,
            check=_not_a_draft,
        ),
        field_action(
            "seen",
            _l("Mark as read or unread"),
            MailEntry,
            "seen",
            choices=_read_or_not,
            coerce=lambda value: value == "1",
            value_label=_l("Mark as"),
            load=_load,
        ),
    ),
    row_class=lambda: case((MailEntry.seen.is_(False), literal("unread")), else_=literal("")),
    title="subject",
    row_testid="message-row",
    exporter=lambda who: True,  # one's own mailbox
    count=lambda n: ngettext("%(num)d message", "%(num)d messages", n),
)
