"""The global search's providers: what each finds, only among what the user may see,
with diacritics typed or not, grouped in the areas' order and limited."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from groupware.access.policy import SYSTEM
from groupware.accounts.models import User
from groupware.crm.documents import DocumentIn, upsert_document
from groupware.crm.persons import PersonIn, save_person
from groupware.deals.models import Deal
from groupware.deals.types import StepIn, TypeIn, save_type
from groupware.mail.delivery import deliver
from groupware.search import PAGE_LIMIT, Terms, service
from groupware.search.service import Group, search
from groupware.tasks.service import TaskIn, create_task
from tests.crm.test_imports import make_oib
from tests.factories import MAIL_DOMAIN, Cast, make_partner


def found(groups: list[Group]) -> dict[str, list[str]]:
    return {group.name: [hit.title for hit in group.hits] for group in groups}


def titles(db: Session, cast: Cast, user: User, typed: str, **options: Any) -> dict[str, list[str]]:
    return found(search(db, cast.who(db, user), typed, **options))


def make_deal(db: Session, owner: User, partner_id: int, title: str) -> Deal:
    kind = save_type(
        db,
        SYSTEM,
        None,
        TypeIn(name=f"Prodaja {title}", direction="sale", phases=[StepIn(name="Ponuda")]),
    )
    deal = Deal(
        title=title,
        partner_id=partner_id,
        type_id=kind.id,
        owner_id=owner.id,
        started_on=dt.date(2026, 12, 1),
    )
    db.add(deal)
    db.flush()
    return deal


def mail_to(db: Session, sender: User, recipient: User, subject: str) -> None:
    raw = (
        f"From: {sender.full_name} <{sender.email}>\r\nTo: <{recipient.email}>\r\n"
        f"Subject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nText.\r\n"
    ).encode()
    deliver(
        db,
        raw,
        envelope_from=sender.email,
        envelope_to=[recipient.email],
        recipients=[recipient],
        sender=sender,
        mail_domain=MAIL_DOMAIN,
    )


@pytest.fixture
def worlds(db: Session, cast: Cast) -> dict[str, Any]:
    """alice's records and charlie's, each a partner with a person, a deal, a task, an
    ERP document and mail, all named with the same words; staff see only their own."""
    made: dict[str, Any] = {}
    for user, prefix in ((cast.alice, "Čakovec"), (cast.charlie, "Čakovečki")):
        who = cast.who(db, user)
        partner = make_partner(
            db, who, f"{prefix} Promet d.o.o.", city="Čakovec", postal_code="40000"
        )
        save_person(
            db,
            who,
            None,
            PersonIn(partner_id=partner.id, first_name="Đuro", last_name=f"{prefix}ić"),
        )
        make_deal(db, user, partner.id, f"{prefix} blagajne")
        create_task(db, who, TaskIn(title=f"Nazvati {prefix}", partner_id=partner.id), push=False)
        number = f"R-{user.username}-2026"
        upsert_document(
            db,
            SYSTEM,
            DocumentIn(
                number=number,
                partner_id=partner.id,
                kind="invoice",
                date=dt.date(2026, 12, 1),
                net_amount=decimal.Decimal("10.00"),
                gross_amount=decimal.Decimal("12.50"),
            ),
        )
        mail_to(db, cast.bob, user, f"Ponuda {prefix}")
        made[user.username] = partner
    return made


def test_every_kind_of_record_is_found_by_a_word_with_or_without_diacritics(
    db: Session, cast: Cast, worlds: dict[str, Any]
) -> None:
    for typed in ("čakovec", "cakovec", "ČAKOVEC", "Cakov"):
        assert titles(db, cast, cast.alice, typed) == {
            "partners": ["Čakovec Promet d.o.o."],
            "persons": ["Đuro Čakovecić"],
            "deals": ["Čakovec blagajne"],
            "tasks": ["Nazvati Čakovec"],
            "mail": ["Ponuda Čakovec"],
        }, typed
    assert titles(db, cast, cast.alice, "djuro cakov")["persons"] == ["Đuro Čakovecić"]
    assert titles(db, cast, cast.alice, "đuro")["persons"] == ["Đuro Čakovecić"]
    assert titles(db, cast, cast.alice, "r-alice")["documents"] == ["R-alice-2026"]


def test_a_record_of_another_user_never_appears_nor_counts(
    db: Session, cast: Cast, worlds: dict[str, Any]
) -> None:
    # "čakov" starts charlie's words too ("Čakovečki"); alice sees only hers, and with a
    # limit of one there is no "more" from his records.
    groups = search(db, cast.who(db, cast.alice), "čakov", limit=1)
    assert {g.name: (len(g.hits), g.more) for g in groups} == {
        name: (1, False) for name in ("partners", "persons", "deals", "tasks", "mail")
    }
    assert titles(db, cast, cast.alice, "čakovečki") == {}
    assert titles(db, cast, cast.alice, "r-charlie") == {}
    mine = titles(db, cast, cast.charlie, "čakov")
    assert mine["partners"] == ["Čakovečki Promet d.o.o."] and "Čakovec" not in str(mine)
    # root sees every partner, deal and task, but only the mail in their own mailbox
    everything = titles(db, cast, cast.root, "čakov")
    assert len(everything["partners"]) == 2 and "mail" not in everything


def test_groups_come_in_the_areas_order_limited_with_a_link_to_the_list(
    db: Session, cast: Cast
) -> None:
    who = cast.who(db, cast.alice)
    for n in range(7):
        partner = make_partner(db, who, f"Lipa {n} d.o.o.")
        save_person(db, who, None, PersonIn(partner_id=partner.id, last_name=f"Lipić {n}"))
    groups = search(db, who, "lipa", limit=5)
    assert [g.name for g in groups] == ["partners"]
    [partners] = groups
    assert len(partners.hits) == 5 and partners.more
    assert partners.more_url == "/partners?q=lipa"
    assert all(hit.url.startswith("/partners/") for hit in partners.hits)
    groups = search(db, who, "lip", limit=PAGE_LIMIT)
    assert [(g.name, len(g.hits), g.more) for g in groups] == [
        ("partners", 7, False),
        ("persons", 7, False),
    ]
    assert [p.name for p in service.providers()] == [
        "partners", "persons", "deals", "tasks", "mail", "documents"
    ]  # fmt: skip


def test_every_kind_matches_the_starts_of_words(
    db: Session, cast: Cast, worlds: dict[str, Any]
) -> None:
    assert titles(db, cast, cast.alice, "akovec") == {}
    assert titles(db, cast, cast.alice, "prom čak")["partners"] == ["Čakovec Promet d.o.o."]
    assert titles(db, cast, cast.alice, "blag")["deals"] == ["Čakovec blagajne"]
    assert "deals" not in titles(db, cast, cast.alice, "lagajne")
    # an OIB or an e-mail address as the partner list finds them
    oib = make_oib(1000000099)
    make_partner(db, cast.who(db, cast.alice), "Zvijezda d.o.o.", email="info@zvijezda.hr", oib=oib)
    assert titles(db, cast, cast.alice, f"HR{oib}") == {"partners": ["Zvijezda d.o.o."]}
    assert titles(db, cast, cast.alice, "INFO@zvijezda.hr") == {"partners": ["Zvijezda d.o.o."]}


def test_nothing_is_searched_for_nothing_typed(db: Session, cast: Cast) -> None:
    assert not Terms.of("  -- ")
    assert search(db, cast.who(db, cast.alice), " ") == []
    assert Terms.of("  Čakovec   d.o.o. ").words == ("cakovec", "d", "o", "o")


def test_partners_whose_names_start_with_the_word_come_first(db: Session, cast: Cast) -> None:
    who = cast.who(db, cast.alice)
    for name in ("Agro Sunce d.o.o.", "Sunčana d.o.o.", "Zora Sunce obrt", "Sunce d.d."):
        make_partner(db, who, name)
    [partners] = search(db, who, "sunc")
    assert [hit.title for hit in partners.hits[:2]] == ["Sunčana d.o.o.", "Sunce d.d."]
    assert {hit.title for hit in partners.hits[2:]} == {"Agro Sunce d.o.o.", "Zora Sunce obrt"}
    [partners] = search(db, who, "sunce zor")
    assert [hit.title for hit in partners.hits] == ["Zora Sunce obrt"]
