"""The SMTP server's decisions as plain functions, without a socket or a database:
which record an address or a tag names, what a message is linked by, where an address
goes, which path files a message, what a failed filing is answered, and whether the
installed aiosmtpd is the one our overrides were written for."""

from __future__ import annotations

import psycopg
import pytest
from psycopg_pool import PoolTimeout
from sqlalchemy.exc import OperationalError

from groupware.accounts.models import User
from groupware.mail import aiosmtpd_compat, delivery, fastfile, filing, routing, smtp
from groupware.tasks.models import Task

DOMAIN = "firma.hr"
DEAL = filing.FilingKind("deal", "deals", None, tag="D")
PARTNER = filing.FilingKind("partner", "partners", None, contacts=(filing.Contact(None, None),))
KINDS = (PARTNER, DEAL)


def test_a_filing_address_names_its_record() -> None:
    assert filing.target(f"deal-12@{DOMAIN}", DOMAIN, KINDS) == ("deals", 12)
    assert filing.target(f"<Partner-7@{DOMAIN.upper()}>", DOMAIN, KINDS) == ("partners", 7)
    assert filing.target(f"ana+deal-12@{DOMAIN}", DOMAIN, KINDS) == ("deals", 12)
    assert filing.target("deal-12@example.com", DOMAIN, KINDS) is None  # not ours
    assert filing.target(f"deal-x@{DOMAIN}", DOMAIN, KINDS) is None
    assert filing.target(f"offer-3@{DOMAIN}", DOMAIN, KINDS) is None  # no such kind
    assert filing.target(f"deal-1234567890@{DOMAIN}", DOMAIN, KINDS) is None  # too long


def test_a_kind_an_area_adds_files_by_its_own_address_and_tag() -> None:
    task = filing.FilingKind("task", "tasks", Task.id, tag="T")
    known = (*KINDS, task)
    assert filing.target(f"ana+task-5@{DOMAIN}", DOMAIN, known) == ("tasks", 5)
    assert filing.tagged("Re: [T-5] [D-2] popravak", known) == [("tasks", 5), ("deals", 2)]
    assert filing.reserved("task-77", known) and not filing.reserved("task-77", KINDS)
    assert not filing.reserved("task-force", known)


def test_a_kind_s_names_are_checked() -> None:
    with pytest.raises(ValueError, match="lower case"):
        filing.FilingKind("Deal", "deals", None)
    with pytest.raises(ValueError, match="table"):
        filing.FilingKind("deal", "deals; DROP", None)


def test_tags_in_a_subject() -> None:
    assert filing.tagged("[D-12] ponuda [D-12] [D-3]", KINDS) == [("deals", 12), ("deals", 3)]
    assert filing.tagged("[d-12] D-12 [P-3]", KINDS) == []


def test_what_a_message_is_linked_by() -> None:
    links = filing.plan(
        subject="Re: [D-4] ponuda",
        addresses=["ivan@Konzum.example", f"ana@{DOMAIN}", "IVAN@konzum.example", "bez-domene"],
        filed=[("partners", 7), ("partners", 7), ("deals", 4)],
        bounce=False,
        mail_domain=DOMAIN,
        known=KINDS,
    )
    assert links == filing.Links(
        addressed={"partners": [7], "deals": [4]},
        tags={"deals": [4]},
        outside=["ivan@konzum.example"],
    )
    assert links.params(KINDS) == {
        "outside": ["ivan@konzum.example"],
        "partner_address": [7],
        "deal_address": [4],
        "deal_tag": [4],
    }
    # a delivery report repeats the subject and the addresses: only filing addresses
    bounce = filing.plan(
        subject="Undelivered: [D-4]",
        addresses=["ivan@konzum.example"],
        filed=[],
        bounce=True,
        mail_domain=DOMAIN,
        known=KINDS,
    )
    assert not bounce
    internal = filing.plan(
        subject="Sastanak",
        addresses=[f"ana@{DOMAIN}", f"ivo@{DOMAIN}"],
        filed=[],
        bounce=False,
        mail_domain=DOMAIN,
        known=KINDS,
    )
    assert not internal  # nothing to link: the statement is not even sent


def test_where_an_address_goes() -> None:
    ana = User(username="ana")
    with pytest.raises(routing.Unreachable) as relay:
        routing.decide(None, None, logged_in=False, smarthost=True)
    assert (relay.value.code, relay.value.text) == (554, routing.NO_RELAY)
    with pytest.raises(routing.Unreachable) as nowhere:
        routing.decide(None, None, logged_in=True, smarthost=False)
    assert (nowhere.value.code, nowhere.value.text) == (550, routing.NO_SMARTHOST)
    assert routing.decide(None, None, logged_in=True, smarthost=True).outside
    with pytest.raises(routing.Unreachable) as unknown:
        routing.decide([], None, logged_in=True, smarthost=True)
    assert (unknown.value.code, unknown.value.text) == (550, routing.NO_MAILBOX)
    filed = routing.decide([], ("deals", 4), logged_in=False, smarthost=False)
    assert filed == routing.Route(users=[], target=("deals", 4))
    assert routing.decide([ana], None, logged_in=False, smarthost=False).users == [ana]


def test_which_path_files_a_message() -> None:
    assert fastfile.takes(size=5_000, limit=10_000, calendar=False, outside=False)
    assert not fastfile.takes(size=10_001, limit=10_000, calendar=False, outside=False)
    assert not fastfile.takes(size=5_000, limit=10_000, calendar=True, outside=False)
    assert not fastfile.takes(size=5_000, limit=10_000, calendar=False, outside=True)


def test_what_a_failed_filing_is_answered() -> None:
    assert smtp.failure_reply(psycopg.OperationalError("gone")) == smtp.UNREACHABLE
    assert smtp.failure_reply(PoolTimeout("no connection")) == smtp.UNREACHABLE
    assert smtp.failure_reply(TimeoutError()) == smtp.UNREACHABLE
    assert smtp.failure_reply(OperationalError("x", {}, Exception())) == smtp.UNREACHABLE
    refused = psycopg.errors.ForeignKeyViolation("no such user")
    assert smtp.failure_reply(refused) == smtp.NOT_FILED
    assert smtp.failure_reply(RuntimeError("the writer logged it")) == smtp.NOT_FILED
    assert smtp.failure_reply(ValueError("a bug")) is None  # not answered as a 451


def test_a_delivery_is_known_by_its_bytes_and_envelope_when_it_has_a_message_id() -> None:
    raw = b"From: a@x.hr\r\nMessage-ID: <1@x.hr>\r\nSubject: s\r\n\r\nbody\r\n"
    key = delivery.delivery_key(raw, "a@x.hr", ["b@firma.hr"])
    assert delivery.delivery_key(raw, "A@x.hr", ["b@firma.hr"]) == key
    assert delivery.delivery_key(raw, "a@x.hr", ["c@firma.hr"]) != key
    assert delivery.delivery_key(raw + b"more\r\n", "a@x.hr", ["b@firma.hr"]) != key
    assert len(key) == 64
    # without a Message-ID two identical messages may both be meant
    bare = b"From: a@x.hr\r\nSubject: s\r\n\r\nMessage-ID: <in the body>\r\n"
    assert delivery.delivery_key(bare, "", ["b@firma.hr"]) != delivery.delivery_key(
        bare, "", ["b@firma.hr"]
    )


def test_the_aiosmtpd_overrides_are_for_the_installed_version() -> None:
    aiosmtpd_compat.check_version()
    with pytest.raises(RuntimeError, match=r"written for aiosmtpd 1\.4\.6, found 1\.5\.0"):
        aiosmtpd_compat.check_version("1.5.0")
