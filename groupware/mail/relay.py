"""Mail for outside addresses: a persistent queue (``mail_outbox``) sent through the
configured smarthost.

:func:`enqueue` is called in the delivering transaction, so a message accepted with 250
is in the queue for every outside recipient before the client hears so.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from groupware.mail.models import MailMessage, MailOutbox


def enqueue(
    session: Session, message: MailMessage, recipients: Sequence[str], sender: str
) -> list[MailOutbox]:
    """Queue ``message`` for each outside recipient (sent by the relay job)."""
    rows = [
        MailOutbox(message_id=message.id, sender=sender[:320], recipient=recipient[:320])
        for recipient in dict.fromkeys(recipients)
    ]
    session.add_all(rows)
    session.flush()
    return rows
