"""Mail filed on a record (a deal, a partner): the "mail" entries of its activity
stream (:mod:`groupware.stream`).

Whoever may see the record sees the messages filed on it (by a filing address, the
deal's tag, a partner's known address or by hand), except those a mailbox owner marked
private: a private message shows only to the people who have it in their own mailbox.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, not_, or_, select
from sqlalchemy.orm import Session, defer

from groupware.access.policy import Who
from groupware.i18n import _l, gettext
from groupware.mail import filing
from groupware.mail.models import MailEntry, MailLink, MailMessage
from groupware.stream import StreamItem, StreamSource, Target, Window, ordered

KIND = "mail"
SNIPPET = 300  # characters of a message's text shown in a stream


def visible_to(viewer_id: int | None) -> ColumnElement[bool]:
    """A filed message ``viewer_id`` may see on a record they may see: not private, or
    in the viewer's own mailbox."""
    private = exists().where(MailEntry.message_id == MailMessage.id, MailEntry.private)
    if viewer_id is None:
        return not_(private)
    own = exists().where(MailEntry.message_id == MailMessage.id, MailEntry.user_id == viewer_id)
    return or_(not_(private), own)


def filed(record_type: str, record_id: int, viewer_id: int | None) -> Select[Any]:
    """Messages filed on a record that ``viewer_id`` may see, each with the viewer's own
    mailbox entry of it (to open it in the web mail), if any."""
    own_entry = (
        select(MailEntry.id)
        .where(MailEntry.message_id == MailMessage.id, MailEntry.user_id == viewer_id)
        .order_by(MailEntry.id)
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(MailMessage, own_entry)
        .join(MailLink, MailLink.message_id == MailMessage.id)
        .where(
            and_(MailLink.record_type == record_type, MailLink.record_id == record_id),
            visible_to(viewer_id),
        )
    )


def snippet(message: MailMessage) -> str:
    text = " ".join(message.text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def _serves(record_type: str) -> bool:
    return any(kind.record_type == record_type for kind in filing.kinds())


def stream_items(session: Session, who: Who, on: Target, window: Window) -> list[StreamItem]:
    """The messages filed on the record that the reader may see, newest first by when
    they arrived."""
    query = (
        filed(on.record_type, on.record_id, who.id)
        .where(window.clause(KIND, MailMessage.received_at, MailMessage.id))
        .order_by(*ordered(window, MailMessage.received_at, MailMessage.id))
        .limit(window.limit)
        # A stream shows a line of each: the raw message and its HTML stay unread.
        .options(defer(MailMessage.raw), defer(MailMessage.html))
    )
    return [
        StreamItem(
            at=message.received_at,
            kind=KIND,
            ident=message.id,
            title=message.subject or gettext("(no subject)"),
            text=snippet(message) if message.text.strip() else "",
            author=message.from_name or message.from_address,
            link=f"/mail/{entry_id}" if entry_id else "",
        )
        for message, entry_id in session.execute(query)
    ]


SOURCE = StreamSource(KIND, _l("Mail"), _l("mail"), stream_items, serves=_serves, order=50)
