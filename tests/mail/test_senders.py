"""Which addresses a user may send as, and a message's From:/Sender: held to them
(no sockets: the rule itself; tests/mail/test_smtp.py, test_web.py and test_api.py
send through each way in)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from groupware.mail import addresses, senders
from groupware.mail.senders import Foreign
from tests.factories import Cast

DOMAIN = "groupware.local"


def raw(*headers: str, body: str = "Pozdrav") -> bytes:
    return ("\r\n".join([*headers, "Subject: Ponuda", "", body, ""])).encode()


@pytest.fixture
def alice_sends(db: Session, cast: Cast) -> list[str]:
    addresses.add_alias(db, cast.alice, "ana", mail_domain=DOMAIN)
    addresses.add_team_address(db, cast.north, "sjever", mail_domain=DOMAIN)
    addresses.add_team_address(db, cast.south, "jug", mail_domain=DOMAIN)
    return senders.sendable(db, cast.alice, DOMAIN)


def test_a_user_sends_as_their_address_aliases_and_their_teams_addresses(
    alice_sends: list[str],
) -> None:
    assert alice_sends[0] == "alice@groupware.local"
    assert set(alice_sends) == {"alice@groupware.local", "ana@groupware.local",
                                "sjever@groupware.local"}  # fmt: skip
    for address in (
        "Alice@Groupware.local",
        "alice+deal-12@groupware.local",
        "<ana@groupware.local>",
    ):
        assert senders.may_send_as(alice_sends, address)
    for address in ("jug@groupware.local", "bob@groupware.local", "alice@example.com", "alice", ""):
        assert not senders.may_send_as(alice_sends, address)


def test_the_header_sender_must_be_ones_own(alice_sends: list[str]) -> None:
    ok = [
        raw("From: Alice <alice@groupware.local>"),
        raw("From: =?utf-8?q?Sjever_tim?= <sjever@groupware.local>",
            "Sender: alice@groupware.local"),
        raw("From: ana+ponude@groupware.local"),
        raw("FROM:\r\n  Alice\r\n  <alice@groupware.local>"),  # folded
    ]  # fmt: skip
    for message in ok:
        assert senders.foreign_senders(alice_sends, message) == [], message
    bob = "bob@groupware.local"
    assert senders.foreign_senders(alice_sends, raw(f"From: Bob <{bob}>")) == [Foreign("From", bob)]
    assert senders.foreign_senders(
        alice_sends, raw("From: alice@groupware.local", f"Sender: {bob}")
    ) == [Foreign("Sender", bob)]


@pytest.mark.parametrize(
    "headers",
    [
        ("From: alice@groupware.local", "From: bob@groupware.local"),  # a second From
        ("From: alice@groupware.local, bob@groupware.local",),  # two authors
        ('From: "alice@groupware.local" <bob@groupware.local>',),  # a name that looks right
        ("From: alice@groupware.local (Alice) <bob@groupware.local>",),
        ("From: Team: alice@groupware.local, bob@groupware.local;",),  # a group
        ("From: bob@groupware.local\r\n (Alice)",),
        ("From: alice@groupware.local", "Sender: a@x", "Sender: bob@groupware.local"),
    ],
)
def test_no_way_of_writing_the_headers_slips_a_colleague_through(
    alice_sends: list[str], headers: tuple[str, ...]
) -> None:
    foreign = senders.foreign_senders(alice_sends, raw(*headers))
    assert foreign and all(f.address != "alice@groupware.local" for f in foreign)


def test_a_message_without_from_is_refused_with_a_reason(alice_sends: list[str]) -> None:
    foreign = senders.foreign_senders(alice_sends, raw("To: bob@groupware.local"))
    assert foreign == [Foreign("From", "")]
    assert senders.smtp_refusal(foreign).startswith("550 5.7.1 The message has no From:")
    reply = senders.smtp_refusal([Foreign("From", "bob@groupware.local\r\nX")])
    assert reply.startswith("550 5.7.1 The From: header names bob@groupware.local??X,")
    assert "\r" not in reply and "\n" not in reply
