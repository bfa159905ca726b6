"""Mail filed on a deal in its correspondence timeline (the deal's page shows it to
everyone who may see the deal: a message is filed there only on purpose, by a filing
address or the deal's tag in the subject)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.deals.models import Deal
from groupware.deals.service import TimelineEntry, register_timeline
from groupware.i18n import _l
from groupware.mail.models import MailLink, MailMessage

MAIL_LABEL = _l("mail")


def deal_mail(session: Session, deal: Deal) -> list[TimelineEntry]:
    query = (
        select(MailMessage)
        .join(MailLink, MailLink.message_id == MailMessage.id)
        .where(MailLink.record_type == "deals", MailLink.record_id == deal.id)
        .order_by(MailMessage.received_at)
    )
    return [
        TimelineEntry(
            at=message.sent_at or message.received_at,
            kind="mail",
            label=MAIL_LABEL,
            author=message.from_name or message.from_address,
            text=message.subject,
        )
        for message in session.scalars(query)
    ]


register_timeline(deal_mail)
