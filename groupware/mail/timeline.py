"""Mail filed on a deal or a partner: the deal's correspondence timeline and the
partner 360° page's mail section.

Whoever may see the record sees the messages filed on it (by a filing address, the
deal's tag, a partner's known address or by hand), except those a mailbox owner marked
private: a private message shows only to the people who have it in their own mailbox.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from groupware.crm.models import Partner
from groupware.crm.partner360_web import Section
from groupware.deals.models import Deal
from groupware.deals.service import TimelineEntry
from groupware.i18n import _l
from groupware.mail.models import MailEntry, MailLink, MailMessage
from groupware.web import Ctx

MAIL_LABEL = _l("mail")
SNIPPET = 300  # characters of a message's text shown in a timeline
SHOWN = 50  # messages in the partner page's section


def visible_to(viewer_id: int | None) -> ColumnElement[bool]:
    """A filed message ``viewer_id`` may see on a record they may see: not private, or
    in the viewer's own mailbox."""
    private = exists().where(MailEntry.message_id == MailMessage.id, MailEntry.private)
    if viewer_id is None:
        return not_(private)
    own = exists().where(MailEntry.message_id == MailMessage.id, MailEntry.user_id == viewer_id)
    return or_(not_(private), own)


def filed_on(
    session: Session, record_type: str, record_id: int, viewer_id: int | None, limit: int = 500
) -> list[tuple[MailMessage, int | None]]:
    """Messages filed on a record that ``viewer_id`` may see, newest first, each with the
    viewer's own mailbox entry of it (to open it in the web mail), if any."""
    own_entry = (
        select(MailEntry.id)
        .where(MailEntry.message_id == MailMessage.id, MailEntry.user_id == viewer_id)
        .order_by(MailEntry.id)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(MailMessage, own_entry)
        .join(MailLink, MailLink.message_id == MailMessage.id)
        .where(
            and_(MailLink.record_type == record_type, MailLink.record_id == record_id),
            visible_to(viewer_id),
        )
        .order_by(MailMessage.received_at.desc(), MailMessage.id.desc())
        .limit(limit)
    )
    return [(message, entry_id) for message, entry_id in session.execute(query)]


def snippet(message: MailMessage) -> str:
    text = " ".join(message.text.split())
    return text if len(text) <= SNIPPET else text[: SNIPPET - 1] + "…"


def deal_mail(session: Session, deal: Deal, viewer_id: int | None) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=message.sent_at or message.received_at,
            kind="mail",
            label=MAIL_LABEL,
            author=message.from_name or message.from_address,
            text=message.subject + ("\n" + snippet(message) if message.text.strip() else ""),
            link=f"/mail/{entry_id}" if entry_id else "",
        )
        for message, entry_id in filed_on(session, "deals", deal.id, viewer_id)
    ]


def partner_mail(ctx: Ctx, partner: Partner) -> dict[str, Any]:
    rows = filed_on(ctx.db, "partners", partner.id, ctx.acting.id, limit=SHOWN)
    return {"messages": [(m, entry_id, snippet(m)) for m, entry_id in rows]}


PARTNER_SECTION = Section("mail", "mail/_record_mail.html", partner_mail, order=30)
