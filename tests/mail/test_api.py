"""The mail API through the real server, checked against the OpenAPI document:
mailboxes, listing and searching messages, reading one, changing it, sending, and
nobody reaching another person's messages."""

from __future__ import annotations

import pytest

from groupware.accounts.models import Team
from groupware.db import Database
from groupware.mail import addresses
from groupware.settings import Settings
from tests.api.helpers import Api, fields_of
from tests.api.test_openapi import Contract
from tests.crm.conftest import api  # noqa: F401 - the API clients fixture
from tests.mail.test_web import mail


@pytest.fixture
def contract(api: Api) -> Contract:  # noqa: F811 - the fixture
    response = api.anonymous.get("/openapi.json")
    assert response.status_code == 200
    return Contract(response.json())


def test_mail_is_read_answered_and_filed_away_through_the_api(
    api: Api,  # noqa: F811 - the fixture
    contract: Contract,
    database: Database,
    settings: Settings,
) -> None:
    cast = api.cast
    mail(database, settings, cast.bob, "alice@groupware.local", "Ponuda", "Cijene u prilogu.")
    call, alice, bob = contract.call, api("alice"), api("bob")

    boxes = call(alice, "GET", "/mailboxes", expect=200)["items"]
    assert {b["name"]: (b["total"], b["unread"]) for b in boxes}["inbox"] == (1, 1)
    assert [b["name"] for b in boxes] == ["inbox", "sent", "drafts", "trash", "archive"]
    [listed] = call(alice, "GET", "/messages", expect=200)["items"]
    assert (listed["subject"], listed["seen"], listed["from_address"]) == (
        "Ponuda",
        False,
        "bob@groupware.local",
    )
    one = {"message_id": listed["id"]}
    detail = call(alice, "GET", "/messages/{message_id}", **one, expect=200)
    assert detail["text"].startswith("Cijene u prilogu.")
    seen = call(alice, "PATCH", "/messages/{message_id}", **one, json={"seen": True}, expect=200)
    assert seen["seen"] is True
    assert call(alice, "GET", "/mailboxes", expect=200)["items"][0]["unread"] == 0

    reply = call(
        alice, "POST", "/messages",
        json={"to": ["Bob <bob@groupware.local>"], "subject": "Re: Ponuda", "text": "Hvala!",
              "in_reply_to": listed["id"]},
        expect=201,
    )  # fmt: skip
    assert (reply["folder"], reply["thread"]) == ("sent", listed["thread"])
    found = call(bob, "GET", "/messages", params={"q": "hvala"}, expect=200)["items"]
    assert [m["subject"] for m in found] == ["Re: Ponuda"]
    sent = call(bob, "GET", "/messages", params={"folder": "sent"}, expect=200)["items"]
    assert [m["thread"] for m in sent] == [listed["thread"]]

    moved = call(
        alice, "PATCH", "/messages/{message_id}", **one,
        json={"folder": "trash", "private": True}, expect=200,
    )  # fmt: skip
    assert (moved["folder"], moved["private"]) == ("trash", True)
    call(alice, "DELETE", "/messages/{message_id}", **one, expect=204)
    call(alice, "GET", "/messages/{message_id}", **one, expect=404)


def test_the_api_refuses_bad_sends_and_other_peoples_messages(
    api: Api,  # noqa: F811 - the fixture
    contract: Contract,
    database: Database,
    settings: Settings,
) -> None:
    cast = api.cast
    mail(database, settings, cast.bob, "alice@groupware.local")
    call, alice, charlie = contract.call, api("alice"), api("charlie")
    [listed] = call(alice, "GET", "/messages", expect=200)["items"]
    one = {"message_id": listed["id"]}

    call(charlie, "GET", "/messages/{message_id}", **one, expect=404)
    call(charlie, "PATCH", "/messages/{message_id}", **one, json={"seen": True}, expect=404)
    call(charlie, "DELETE", "/messages/{message_id}", **one, expect=404)
    answer = {"to": ["bob@groupware.local"], "in_reply_to": listed["id"]}
    call(charlie, "POST", "/messages", json=answer, expect=404)
    nobody = charlie.post("/messages", json={"to": ["nobody@groupware.local"], "text": "x"})
    assert "nobody@groupware.local" in fields_of(nobody)["to"]
    contract.check(nobody, "/messages")
    assert "to" in fields_of(charlie.post("/messages", json={"to": []}))
    bad_cc = {"to": ["bob@groupware.local"], "cc": ["x y"]}
    assert "cc" in fields_of(charlie.post("/messages", json=bad_cc))
    assert "folder" in fields_of(charlie.get("/messages", params={"folder": "spam"}))
    call(alice, "PATCH", "/messages/{message_id}", **one, json={"folder": "drafts"}, expect=422)
    call(alice, "DELETE", "/messages/{message_id}", **one, expect=422)  # not in the trash
    call(api.anonymous, "GET", "/mailboxes", expect=401)


def test_messages_are_paged_by_cursor_newest_first(
    api: Api,  # noqa: F811 - the fixture
    contract: Contract,
    database: Database,
    settings: Settings,
) -> None:
    for n in range(5):
        mail(database, settings, api.cast.bob, "alice@groupware.local", f"Poruka {n}")
    first = contract.call(api("alice"), "GET", "/messages", params={"limit": 3}, expect=200)
    assert [m["subject"] for m in first["items"]] == ["Poruka 4", "Poruka 3", "Poruka 2"]
    rest = contract.call(
        api("alice"), "GET", "/messages",
        params={"limit": 3, "cursor": first["next_cursor"]}, expect=200,
    )  # fmt: skip
    assert [m["subject"] for m in rest["items"]] == ["Poruka 1", "Poruka 0"]
    assert rest["next_cursor"] is None


def test_the_api_sends_only_as_ones_own_addresses(
    api: Api,  # noqa: F811 - the fixture
    contract: Contract,
    database: Database,
) -> None:
    """The rule of SMTP submission (:mod:`groupware.mail.senders`): one's own address,
    aliases and team addresses, never a colleague's."""
    cast = api.cast
    with database.transaction(actor_id=None, channel="cli") as session:
        north = session.get_one(Team, cast.north.id)
        addresses.add_team_address(session, north, "sjever", mail_domain="groupware.local")
    alice = api("alice")
    as_bob = {"from_address": "bob@groupware.local", "to": ["charlie@groupware.local"]}
    refused = alice.post("/messages", json=as_bob)
    assert refused.status_code == 422
    assert fields_of(refused)["from_address"].startswith(
        "You may not send as bob@groupware.local: use your own address"
    )
    contract.check(refused, "/messages")
    as_team = {**as_bob, "from_address": "sjever@groupware.local", "subject": "Tim"}
    sent = contract.call(alice, "POST", "/messages", json=as_team, expect=201)
    assert (sent["from_address"], sent["from_name"]) == ("sjever@groupware.local", "Alice")
    got = contract.call(api("charlie"), "GET", "/messages", expect=200)["items"]
    assert [(m["subject"], m["from_address"]) for m in got] == [("Tim", "sjever@groupware.local")]
