"""Login throttling's rules, on the database without sockets (the login form, SMTP and
CalDAV answers, and parallel logins, are tested over real sockets in
tests/web/test_login.py, tests/mail/test_smtp.py and tests/caldav/test_caldav.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from groupware.accounts import auth, throttle
from groupware.accounts.models import LoginCounter
from groupware.db import utcnow
from groupware.settings import Settings
from tests.factories import PASSWORD, Cast

OFFICE, HOME = "192.0.2.10", "198.51.100.7"


def admit(
    db: Session, settings: Settings, username: str, address: str, at: dt.datetime
) -> throttle.Admission:
    return throttle.admit(db, settings, username=username, address=address, now=at)


def log_in(db: Session, settings: Settings, username: str, password: str, address: str) -> bool:
    attempt = auth.begin(db, settings, username=username, address=address)
    return auth.record(db, auth.check_password(db, attempt, password)) is not None


def counter(db: Session, kind: str, username: str, address: str) -> LoginCounter | None:
    return db.scalar(
        select(LoginCounter).where(
            LoginCounter.kind == kind,
            LoginCounter.username == username,
            LoginCounter.address == address,
        )
    )


def test_free_failures_then_waits_that_double_up_to_the_longest(
    db: Session, cast: Cast, settings: Settings
) -> None:
    now = utcnow()
    for _ in range(settings.login_free_failures):
        assert admit(db, settings, "alice", OFFICE, now).retry_after == 0
    assert admit(db, settings, "alice", OFFICE, now).retry_after == 1
    waits = []
    for _ in range(12):  # each wait served, one more try, and the next wait is longer
        now += dt.timedelta(seconds=admit(db, settings, "alice", OFFICE, now).retry_after)
        assert admit(db, settings, "alice", OFFICE, now).retry_after == 0
        waits.append(admit(db, settings, "alice", OFFICE, now).retry_after)
    assert waits[:5] == [2, 4, 8, 16, 32]
    assert waits[-1] == settings.login_max_delay_minutes * 60
    # Not a lock: alice from home, and bob from the office, log in at once.
    assert admit(db, settings, "alice", HOME, now).retry_after == 0
    assert admit(db, settings, "bob", OFFICE, now).retry_after == 0


def test_the_right_password_from_elsewhere_gets_through_and_clears_only_its_own_count(
    db: Session, cast: Cast, settings: Settings
) -> None:
    slow = dataclasses.replace(settings, login_first_delay_seconds=600)
    for _ in range(settings.login_free_failures):
        assert not log_in(db, slow, "alice", "guess", HOME)
    assert not log_in(db, slow, "alice", PASSWORD, HOME)  # waiting: not even checked
    assert log_in(db, slow, "alice", PASSWORD, OFFICE)
    stuck = counter(db, "account", "alice", HOME)
    assert stuck is not None and stuck.next_at is not None and stuck.next_at > utcnow()
    assert counter(db, "account", "alice", OFFICE) is None  # forgotten by the good login
    assert counter(db, "proven", "alice", OFFICE) is not None


def test_a_good_login_gives_back_its_count_at_the_address(
    db: Session, cast: Cast, settings: Settings
) -> None:
    assert not log_in(db, settings, "alice", "typo", OFFICE)
    assert log_in(db, settings, "alice", PASSWORD, OFFICE)
    for user in ("bob", "charlie", "dave"):  # first logins from the office
        assert log_in(db, settings, user, PASSWORD, OFFICE)
    at_office = counter(db, "address", "", OFFICE)
    assert at_office is not None and at_office.failures == 1  # alice's typo alone


def test_an_address_waits_after_its_free_failures_except_for_accounts_proven_there(
    db: Session, cast: Cast, settings: Settings
) -> None:
    assert log_in(db, settings, "bob", PASSWORD, OFFICE)  # bob works there
    now = utcnow()
    # one mail program with an old password counts only its free failures at the address
    for _ in range(20):  # a few minutes of tries, as often as let
        now += dt.timedelta(seconds=admit(db, settings, "charlie", OFFICE, now).retry_after)
    at_office = counter(db, "address", "", OFFICE)
    assert at_office is not None and at_office.failures == settings.login_free_failures
    assert admit(db, settings, "dave", OFFICE, now).retry_after == 0
    # someone there tries many names: the address fills up
    guessed = settings.login_free_failures_per_address - settings.login_free_failures - 1
    for n in range(guessed):
        assert admit(db, settings, f"guess{n}", OFFICE, now).retry_after == 0
    assert admit(db, settings, "alice", OFFICE, now).retry_after == 1  # new from there
    assert admit(db, settings, "bob", OFFICE, now).retry_after == 0  # proven there
    assert admit(db, settings, "alice", HOME, now).retry_after == 0  # elsewhere


def test_failures_are_forgotten_after_a_while_and_pruned(
    db: Session, cast: Cast, settings: Settings
) -> None:
    then = utcnow() - dt.timedelta(minutes=settings.login_throttle_minutes, seconds=30)
    for _ in range(settings.login_free_failures):
        admit(db, settings, "alice", OFFICE, then)
    assert admit(db, settings, "alice", OFFICE, then).retry_after > 0
    assert throttle.prune(db, settings) == 2  # alice's count there and the office's
    for _ in range(settings.login_free_failures):
        admit(db, settings, "alice", OFFICE, then)
    row = counter(db, "account", "alice", OFFICE)
    assert row is not None and row.failures == settings.login_free_failures
    assert admit(db, settings, "alice", OFFICE, utcnow()).retry_after == 0  # forgotten
    assert row.failures == 1
