"""Alerts of the phase/deadline job as mail: one message per person per run, listing
their new alerts (a first run may raise thousands; nobody wants thousands of mails),
delivered into their mailbox through the same path as any mail, in their language."""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from email.message import EmailMessage

from sqlalchemy.orm import Session

from groupware.i18n import ngettext, use_language
from groupware.mail import delivery
from groupware.phases.alerts import Delivery

SHOWN = 200  # alerts listed in one message; the rest are counted


def mail_alerts(session: Session, deliveries: Sequence[Delivery]) -> None:
    by_user: dict[int, list[Delivery]] = {}
    for item in deliveries:
        by_user.setdefault(item.user.id, []).append(item)
    for items in by_user.values():
        user = items[0].user
        if not user.is_active or not user.email:
            continue
        domain = user.email.rpartition("@")[2]
        with use_language(user.language):
            subject = ngettext("%(num)d new alert", "%(num)d new alerts", len(items))
            lines = [f"- {d.title}\n  {d.body}\n  {d.link}" for d in items[:SHOWN]]
            if len(items) > SHOWN:
                rest = len(items) - SHOWN
                lines.append(ngettext("… and %(num)d more", "… and %(num)d more", rest))
        message = EmailMessage()
        message["From"] = f"CRM <crm@{domain}>"
        message["To"] = user.email
        message["Subject"] = subject
        message["Date"] = email.utils.formatdate(usegmt=True)
        message["Message-ID"] = email.utils.make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content("\n\n".join(lines))
        delivery.deliver(
            session,
            bytes(message),
            envelope_from=f"crm@{domain}",
            envelope_to=[user.email],
            recipients=[user],
            sender=None,
            mail_domain=domain,
        )
