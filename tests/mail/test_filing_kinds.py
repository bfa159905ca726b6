"""The one link statement on the general path, without a socket: each record once with
its strongest reason, only records that exist, a kind an area adds filed without a
change to the mail code, and a delivery filed twice with one key kept once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.access.policy import SYSTEM
from groupware.crm.models import Person
from groupware.errors import Invalid
from groupware.mail import addresses, delivery, filing, routing
from groupware.mail.models import MailEntry, MailLink, MailMessage
from groupware.settings import Settings
from groupware.tasks.models import Task
from tests import factories
from tests.factories import MAIL_DOMAIN, make_partner
from tests.mail.conftest import make_deal, message


def links_of(db: Session, message_id: int) -> set[tuple[str, int, str]]:
    query = select(MailLink.record_type, MailLink.record_id, MailLink.how).where(
        MailLink.message_id == message_id
    )
    return {(kind, record_id, how) for kind, record_id, how in db.execute(query)}


def store(db: Session, cast: factories.Cast, raw: bytes, **options: object) -> int:
    return delivery.store(
        db,
        raw,
        envelope_from=str(options.pop("envelope_from", "ivan@konzum.example")),
        envelope_to=[cast.alice.email],
        recipients=[cast.alice],
        sender=None,
        mail_domain=MAIL_DOMAIN,
        **options,  # type: ignore[arg-type]
    )


def test_each_record_is_linked_once_by_its_strongest_reason(
    db: Session, cast: factories.Cast
) -> None:
    konzum = make_partner(db, SYSTEM, "Konzum d.d.", email="info@konzum.example")
    db.add(Person(partner_id=konzum.id, last_name="Horvat", email="ivan@konzum.example"))
    merged = make_partner(db, SYSTEM, "Konzum stari", email="stari@konzum.example")
    merged.status = "merged"
    other = make_partner(db, SYSTEM, "Tisak d.d.")
    deal = make_deal(db, cast.alice, konzum.id)
    db.flush()
    mail = message("ivan@konzum.example", cast.alice.email, f"[D-{deal.id}] [D-{10**8}] Re")
    mail["Cc"] = "info@konzum.example, stari@konzum.example"
    filed = [("deals", deal.id), ("partners", other.id), ("partners", 10**8)]
    by_address = store(db, cast, bytes(mail), filed=filed)
    assert links_of(db, by_address) == {
        ("deals", deal.id, "address"),  # also tagged
        ("partners", other.id, "address"),
        ("partners", konzum.id, "contact"),  # by its address and its person's: once
    }
    by_tag = store(db, cast, bytes(mail))
    assert links_of(db, by_tag) == {("deals", deal.id, "tag"), ("partners", konzum.id, "contact")}
    bounce = store(db, cast, bytes(mail), envelope_from="", filed=[("partners", other.id)])
    assert links_of(db, bounce) == {("partners", other.id, "address")}


def test_a_kind_an_area_declares_is_filed_without_changing_the_mail_code(
    db: Session, cast: factories.Cast, settings: Settings
) -> None:
    task = Task(title="Popravak blagajne", owner_id=cast.alice.id)
    db.add(task)
    db.flush()
    kind = filing.FilingKind("task", "tasks", Task.id, tag="T")
    with wiring.extended(wiring.Area("service", filing_kinds=(kind,))):
        address = f"servis+task-{task.id}@{settings.mail_domain}"
        found = routing.route(db, address, settings, logged_in=False)
        assert found.target == ("tasks", task.id)
        with pytest.raises(routing.Unreachable):  # no such task
            routing.route(db, f"task-{10**8}@{settings.mail_domain}", settings, logged_in=True)
        mail = message("ivan@konzum.example", cast.alice.email, f"[T-{task.id}] Kvar")
        tagged = store(db, cast, bytes(mail))
        assert links_of(db, tagged) == {("tasks", task.id, "tag")}
        with pytest.raises(Invalid):  # a filing address is no alias
            addresses.clean_local_part(f"task-{task.id}")
    assert addresses.clean_local_part(f"task-{task.id}") == f"task-{task.id}"
    # without the area, the same address and tag name nothing
    mail = message("ivan@konzum.example", cast.alice.email, f"[T-{task.id}] Kvar")
    assert links_of(db, store(db, cast, bytes(mail))) == set()


def test_a_delivery_filed_twice_with_one_key_is_kept_once(
    db: Session, cast: factories.Cast
) -> None:
    """The writer files a batch again on a new connection when the first was lost
    (it may have committed): the key finds the first message."""
    raw = bytes(message("ivan@konzum.example", cast.alice.email, "Jednom"))
    key = delivery.delivery_key(raw, "ivan@konzum.example", [cast.alice.email])
    first = store(db, cast, raw, key=key)
    assert store(db, cast, raw, key=key) == first
    kept = select(func.count()).select_from(MailMessage).where(MailMessage.delivery_key == key)
    assert db.scalar(kept) == 1
    entries = select(func.count()).select_from(MailEntry).where(MailEntry.message_id == first)
    assert db.scalar(entries) == 1
    assert store(db, cast, raw) != first  # mail without a key (the web's) is not held back
