"""Alerts of the deadline job as mail: one message per person per run, in their language."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.mail.models import MailEntry, MailMessage
from groupware.phases.alerts import raise_alerts
from groupware.tasks import service
from groupware.validation import validate
from tests import factories


def _mail(db: Session, user_id: int) -> list[MailMessage]:
    query = (
        select(MailMessage)
        .join(MailEntry, MailEntry.message_id == MailMessage.id)
        .where(MailEntry.user_id == user_id, MailEntry.folder == "inbox")
    )
    return list(db.scalars(query))


def test_new_alerts_arrive_as_one_mail_per_person(db: Session, cast: factories.Cast) -> None:
    cast.alice.language = "hr"
    dave = cast.who(db, cast.dave)
    for title in ("Ponuda", "Ugovor"):
        data = {"title": title, "due_at": "2026-12-05T16:00", "assignee_id": cast.alice.id}
        service.create_task(db, dave, validate(service.TaskIn, data))
    assert raise_alerts(db, dt.date(2026, 12, 7), grace_days=30) == 2
    (mail,) = _mail(db, cast.alice.id)
    assert mail.subject == "2 nova upozorenja"
    assert "Zadatak Ponuda kasni" in mail.text and "Zadatak Ugovor kasni" in mail.text
    assert b"Auto-Submitted: auto-generated" in mail.raw
    assert raise_alerts(db, dt.date(2026, 12, 8), grace_days=30) == 0
    assert len(_mail(db, cast.alice.id)) == 1  # nothing new: no new mail
