"""Aliases and team addresses: the service's rules, the administration pages over HTTP,
and mail to and from them through the SMTP server."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts.models import Team, User
from groupware.db import Database, bind_actor
from groupware.errors import Invalid, NotFound
from groupware.history.models import Change
from groupware.mail import addresses, delivery, senders
from groupware.mail.models import MailAddress
from tests.conftest import LiveServer
from tests.factories import MAIL_DOMAIN, Cast, browser, login, make_user
from tests.mail.conftest import Server, inbox, logged_in, message

# -- the service --------------------------------------------------------------------


def test_it_adds_aliases_and_team_addresses_in_lower_case(db: Session, cast: Cast) -> None:
    alias = addresses.add_alias(db, cast.alice, " Prodaja.Alice ", mail_domain=MAIL_DOMAIN)
    shared = addresses.add_team_address(db, cast.north, "sjever", mail_domain=MAIL_DOMAIN)
    assert (alias.local_part, alias.user_id, alias.team_id) == (
        "prodaja.alice",
        cast.alice.id,
        None,
    )
    assert (shared.local_part, shared.team_id, shared.user_id) == ("sjever", cast.north.id, None)
    listed = addresses.list_addresses(db)
    assert [(a.local_part, a.user, a.team) for a in listed] == [
        ("prodaja.alice", cast.alice, None),
        ("sjever", None, cast.north),
    ]
    assert addresses.list_addresses(db, team_id=cast.north.id) == [shared]
    assert addresses.list_addresses(db, user_id=cast.alice.id) == [alias]
    assert addresses.list_addresses(db, user_id=cast.bob.id) == []


@pytest.mark.parametrize(
    "local",
    [
        "",
        "   ",
        ".ana",
        "ana.",
        "ana..horvat",
        "ana horvat",
        "ana@example.com",
        "žana",
        "ana!",
        "a" * 65,
    ],
)
def test_it_refuses_a_malformed_local_part(db: Session, cast: Cast, local: str) -> None:
    with pytest.raises(Invalid) as refused:
        addresses.add_alias(db, cast.alice, local, mail_domain=MAIL_DOMAIN)
    assert set(refused.value.errors) == {"local_part"}


def test_it_takes_the_longest_local_part_and_the_allowed_characters(
    db: Session, cast: Cast
) -> None:
    longest = "a" * 64
    assert addresses.add_alias(db, cast.alice, longest, mail_domain=MAIL_DOMAIN).local_part
    odd = addresses.add_alias(db, cast.alice, "a_b-c.9", mail_domain=MAIL_DOMAIN)
    assert odd.local_part == "a_b-c.9"


@pytest.mark.parametrize("local", ["deal-12", "Partner-7", "deal-1234567890", "ana+deal-12", "a+b"])
def test_it_refuses_filing_addresses_and_plus_parts(db: Session, cast: Cast, local: str) -> None:
    with pytest.raises(Invalid):
        addresses.add_team_address(db, cast.north, local, mail_domain=MAIL_DOMAIN)


def test_it_refuses_a_local_part_someone_already_answers_to(db: Session, cast: Cast) -> None:
    addresses.add_team_address(db, cast.north, "sjever", mail_domain=MAIL_DOMAIN)
    erna = make_user(db, "erna", email=f"erna.kos@{MAIL_DOMAIN}")
    for taken in ("sjever", "SJEVER", "bob", "erna", "erna.kos"):
        with pytest.raises(Invalid) as refused:
            addresses.add_alias(db, cast.charlie, taken, mail_domain=MAIL_DOMAIN)
        assert "local_part" in refused.value.errors, taken
    assert addresses.list_addresses(db, user_id=cast.charlie.id) == []
    assert erna.email == f"erna.kos@{MAIL_DOMAIN}"


def test_a_new_user_or_address_cannot_take_a_team_s_or_an_alias(db: Session, cast: Cast) -> None:
    from groupware.accounts.users import UserIn, UserUpdate, create_user, update_user

    addresses.add_team_address(db, cast.north, "prodaja", mail_domain=MAIL_DOMAIN)
    addresses.add_alias(db, cast.bob, "racuni", mail_domain=MAIL_DOMAIN)
    for data, field in (
        (UserIn(username="prodaja", full_name="Prodaja"), "username"),
        (UserIn(username="ivo", full_name="Ivo", email=f"racuni@{MAIL_DOMAIN}"), "email"),
    ):
        with pytest.raises(Invalid) as refused:
            create_user(db, data, mail_domain=MAIL_DOMAIN)
        assert field in refused.value.errors
    with pytest.raises(Invalid):
        update_user(
            db, cast.alice, UserUpdate(email=f"prodaja@{MAIL_DOMAIN}"), mail_domain=MAIL_DOMAIN
        )
    # bob may make his own alias his address
    update_user(db, cast.bob, UserUpdate(email=f"racuni@{MAIL_DOMAIN}"), mail_domain=MAIL_DOMAIN)
    assert cast.bob.email == f"racuni@{MAIL_DOMAIN}"


def test_an_alias_reaches_its_user_and_a_team_address_the_active_members(
    db: Session, cast: Cast
) -> None:
    addresses.add_alias(db, cast.charlie, "juzni.charlie", mail_domain=MAIL_DOMAIN)
    addresses.add_team_address(db, cast.north, "sjever", mail_domain=MAIL_DOMAIN)
    cast.dave.is_active = False
    db.flush()
    assert delivery.resolve(db, f"juzni.charlie@{MAIL_DOMAIN}", MAIL_DOMAIN) == [cast.charlie]
    reached = delivery.resolve(db, f"Sjever@{MAIL_DOMAIN}", MAIL_DOMAIN)
    assert reached == [cast.alice, cast.bob]
    bobs = senders.sendable(db, cast.bob, MAIL_DOMAIN)
    assert senders.may_send_as(bobs, f"sjever@{MAIL_DOMAIN}")
    charlies = senders.sendable(db, cast.charlie, MAIL_DOMAIN)
    assert not senders.may_send_as(charlies, f"sjever@{MAIL_DOMAIN}")


def test_removing_an_address_and_adding_it_are_in_history(db: Session, cast: Cast) -> None:
    bind_actor(db, actor_id=cast.root.id, channel="web")
    shared = addresses.add_team_address(db, cast.north, "sjever", mail_domain=MAIL_DOMAIN)
    shared_id = shared.id
    found = addresses.get_address(db, shared_id, team_id=cast.north.id)
    with pytest.raises(NotFound):
        addresses.get_address(db, shared_id, team_id=cast.south.id)
    with pytest.raises(NotFound):
        addresses.get_address(db, shared_id, user_id=cast.alice.id)
    addresses.remove_address(db, found)
    assert delivery.resolve(db, f"sjever@{MAIL_DOMAIN}", MAIL_DOMAIN) == []
    rows = db.execute(
        select(Change.action, Change.actor_id, Change.channel, Change.label)
        .where(Change.record_type == "mail_addresses", Change.record_id == shared_id)
        .order_by(Change.id)
    ).all()
    assert [tuple(r) for r in rows] == [
        ("create", cast.root.id, "web", "sjever"),
        ("delete", cast.root.id, "web", "sjever"),
    ]


# -- the administration pages --------------------------------------------------------


@pytest.fixture
def root(live: LiveServer, committed: Cast, database: Database) -> Iterator[httpx.Client]:
    """The administrator, reading English (the cast's root reads Croatian)."""
    with database.transaction(actor_id=None, channel="cli") as session:
        session.get(User, committed.root.id).language = "en"  # type: ignore[union-attr]
    with browser(live.url) as client:
        client.headers["X-CSRF-Token"] = login(client, "root")
        yield client


def _addresses_of(database: Database, **owner: int) -> list[str]:
    with database.transaction(actor_id=None, channel="cli") as session:
        return [a.local_part for a in addresses.list_addresses(session, **owner)]


def test_an_admin_adds_and_removes_a_team_address_from_the_team_page(
    root: httpx.Client, committed: Cast, database: Database
) -> None:
    team_url = f"/admin/teams/{committed.north.id}"
    team_page = root.get(team_url)
    assert team_page.status_code == 200
    assert f'hx-get="{team_url}/mail-addresses"' in team_page.text
    added = root.post(f"{team_url}/mail-addresses", data={"local_part": "Sjever"})
    assert added.status_code == 303, added.text
    assert added.headers["location"] == team_url
    assert f"sjever@{MAIL_DOMAIN} is added." in root.get(team_url).text  # the flash
    section = root.get(f"{team_url}/mail-addresses", headers={"HX-Request": "true"})
    assert section.status_code == 200
    assert section.text.lstrip().startswith('<section class="card" id="mail-addresses">')
    assert f"sjever@{MAIL_DOMAIN}" in section.text
    assert "<html" not in section.text  # only the section for htmx
    assert _addresses_of(database, team_id=committed.north.id) == ["sjever"]
    with database.transaction(actor_id=None, channel="cli") as session:
        address_id = session.scalar(select(MailAddress.id))
        change = session.scalars(select(Change).where(Change.record_type == "mail_addresses"))
        assert [(c.action, c.actor_id, c.channel) for c in change] == [
            ("create", committed.root.id, "web")
        ]
    removed = root.post(f"{team_url}/mail-addresses/{address_id}/remove")
    assert removed.status_code == 303
    history = root.get("/history").text
    assert "Mail address" in history and "sjever" in history
    assert _addresses_of(database, team_id=committed.north.id) == []


def test_an_admin_gives_a_user_an_alias_and_sees_why_one_is_refused(
    root: httpx.Client, committed: Cast, database: Database
) -> None:
    user_url = f"/admin/users/{committed.alice.id}"
    assert f'hx-get="{user_url}/mail-addresses"' in root.get(user_url).text
    assert (
        root.post(f"{user_url}/mail-addresses", data={"local_part": "a.smith"}).status_code == 303
    )
    page = root.get(f"{user_url}/mail-addresses")  # the whole page, without htmx
    assert page.status_code == 200 and "<html" in page.text
    assert f"a.smith@{MAIL_DOMAIN}" in page.text
    for local, reason in [
        ("bob", "This is a user&#39;s own address."),
        ("a.smith", "This address is taken."),
        ("deal-7", "Addresses like deal-12 and partner-7 file mail on records."),
        ("a..b", "no dot at the start or end"),
    ]:
        refused = root.post(f"{user_url}/mail-addresses", data={"local_part": local})
        assert refused.status_code == 422, local
        assert reason in refused.text, local
    assert _addresses_of(database, user_id=committed.alice.id) == ["a.smith"]


def test_an_address_is_removed_only_through_its_owner(
    root: httpx.Client, committed: Cast, database: Database
) -> None:
    with database.transaction(actor_id=None, channel="cli") as session:
        north = session.get(Team, committed.north.id)
        assert north is not None
        address_id = addresses.add_team_address(
            session, north, "sjever", mail_domain=MAIL_DOMAIN
        ).id
    for url in (
        f"/admin/teams/{committed.south.id}/mail-addresses/{address_id}/remove",
        f"/admin/users/{committed.alice.id}/mail-addresses/{address_id}/remove",
        f"/admin/teams/{committed.north.id}/mail-addresses/999999/remove",
    ):
        assert root.post(url).status_code == 404, url
    assert root.get("/admin/teams/999999/mail-addresses").status_code == 404
    assert _addresses_of(database) == ["sjever"]


def test_the_address_pages_are_for_admins_only(
    live: LiveServer, committed: Cast, database: Database
) -> None:
    team_url = f"/admin/teams/{committed.north.id}/mail-addresses"
    user_url = f"/admin/users/{committed.alice.id}/mail-addresses"
    with browser(live.url) as alice:
        csrf = login(alice, "alice")
        assert alice.get(team_url).status_code == 403
        assert alice.get(user_url).status_code == 403
        data = {"local_part": "alice.boss", "csrf_token": csrf}
        assert alice.post(user_url, data=data).status_code == 403
        assert alice.post(team_url, data={**data, "local_part": "sjever"}).status_code == 403
    with browser(live.url) as anonymous:
        assert anonymous.get(team_url).status_code == 303  # to the login page
    with browser(live.url) as root:
        login(root, "root")
        without_token = root.post(team_url, data={"local_part": "sjever"})
        assert without_token.status_code == 403
    assert _addresses_of(database) == []


# -- mail through the SMTP server ------------------------------------------------------


def _give_addresses(database: Database, cast: Cast) -> None:
    """North (alice, bob, dave) gets sjever@, charlie the alias juzni.charlie@; dave
    leaves the company (inactive)."""
    with database.transaction(actor_id=cast.root.id, channel="cli") as session:
        north, charlie = session.get(Team, cast.north.id), session.get(User, cast.charlie.id)
        dave = session.get(User, cast.dave.id)
        assert north is not None and charlie is not None and dave is not None
        addresses.add_team_address(session, north, "sjever", mail_domain=MAIL_DOMAIN)
        addresses.add_alias(session, charlie, "juzni.charlie", mail_domain=MAIL_DOMAIN)
        dave.is_active = False


def test_mail_to_a_team_address_reaches_every_active_member_and_an_alias_its_user(
    server: Server, committed: Cast, database: Database
) -> None:
    _give_addresses(database, committed)
    team, alias = f"sjever@{MAIL_DOMAIN}", f"juzni.charlie@{MAIL_DOMAIN}"
    with logged_in(server, "charlie") as client:
        assert client.send_message(message(committed.charlie.email, team, "Za sjever")) == {}
    with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as client:  # from outside
        assert client.send_message(message("kupac@example.com", alias, "Za Charlieja")) == {}
    assert inbox(database, committed.alice) == ["Za sjever"]
    assert inbox(database, committed.bob) == ["Za sjever"]
    assert inbox(database, committed.dave) == []  # inactive
    assert inbox(database, committed.charlie) == ["Za Charlieja"]
    assert inbox(database, committed.charlie, "sent") == ["Za sjever"]


def test_members_may_send_from_the_team_address_and_nobody_else(
    server: Server, committed: Cast, database: Database
) -> None:
    _give_addresses(database, committed)
    team = f"sjever@{MAIL_DOMAIN}"
    with logged_in(server, "alice") as client:
        sent = message(team, committed.charlie.email, "Od sjevera")
        assert client.send_message(sent, from_addr=team) == {}
    assert inbox(database, committed.charlie) == ["Od sjevera"]
    with logged_in(server, "charlie") as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(message(team, committed.bob.email, "Lažno"), from_addr=team)
        assert refused.value.smtp_code == 553
    with logged_in(server, "bob") as client:
        alias = f"juzni.charlie@{MAIL_DOMAIN}"
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(message(alias, committed.alice.email), from_addr=alias)
        assert refused.value.smtp_code == 553
    assert inbox(database, committed.bob) == []
