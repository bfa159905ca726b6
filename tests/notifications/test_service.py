from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from groupware.errors import NotFound
from groupware.i18n import gettext
from groupware.notifications import service
from tests.factories import Cast


def test_notifications_are_written_in_the_recipients_language(db: Session, cast: Cast) -> None:
    english = service.notify(db, cast.alice, title=lambda: gettext("Log in"))
    croatian = service.notify(db, cast.root, title=lambda: gettext("Log in"))
    assert english is not None and english.title == "Log in"
    assert croatian is not None and croatian.title == "Prijava"


def test_a_dedup_key_posts_an_alert_once(db: Session, cast: Cast) -> None:
    first = service.notify(db, cast.alice, title="Late", kind="alert", dedup_key="deal-1-phase-2")
    again = service.notify(db, cast.alice, title="Late", kind="alert", dedup_key="deal-1-phase-2")
    assert first is not None and again is None
    assert service.notify(db, cast.bob, title="Late", kind="alert", dedup_key="deal-1-phase-2")
    assert service.unread_count(db, cast.alice.id) == 1


def test_reading_notifications(db: Session, cast: Cast) -> None:
    ids = [service.notify(db, cast.alice, title=f"n{i}").id for i in range(3)]  # type: ignore[union-attr]
    service.mark_read(db, cast.alice.id, ids[0])
    assert service.unread_count(db, cast.alice.id) == 2
    assert [n.id for n in service.list_for(db, cast.alice.id, unread_only=True)] == ids[:0:-1]
    with pytest.raises(NotFound):
        service.mark_read(db, cast.bob.id, ids[1])
    assert service.mark_all_read(db, cast.alice.id) == 2
    assert service.unread_count(db, cast.alice.id) == 0
    with pytest.raises(ValueError):
        service.notify(db, cast.alice, title="x", kind="gossip")
