"""Throttling of failed logins: guessing is slowed down, and nobody who knows their
password is kept out by someone else's failures.

Counted in ``login_counters`` (so the counts hold across processes):

* **per account and address**: after ``GROUPWARE_LOGIN_FREE_FAILURES`` failures of
  one account from one address, each further try from there waits
  ``GROUPWARE_LOGIN_FIRST_DELAY_SECONDS`` (1 s), then twice that, four times … up to
  ``GROUPWARE_LOGIN_MAX_DELAY_MINUTES``. The same account from any other
  address is not held up: an attacker cannot lock a user out.
* **per address**: after ``GROUPWARE_LOGIN_FREE_FAILURES_PER_ADDRESS`` failures from
  one address (each account counting at most its free failures, so one mail program
  with an old password does not fill it) logins from there wait the same way,
  except for accounts that logged in from that address in the last
  :data:`PROVEN_DAYS` days: an office behind one address keeps working while
  someone there guesses.
* a good login forgets the account's failures at that address, takes its own count
  back from the address, and notes the account as proven there.

Failures are forgotten ``GROUPWARE_LOGIN_THROTTLE_MINUTES`` after the last one. A
login is counted *before* its password is checked (:func:`admit`), in a short write
transaction of its own in which the counters' rows are locked (SQLite's ``BEGIN
IMMEDIATE``, PostgreSQL's ``FOR UPDATE``): parallel logins are counted one after
the other, so no more passwords are checked than the rules let through.
:func:`succeeded` gives back what a good login counted.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from groupware.accounts.models import LoginCounter
from groupware.db import Database, utcnow
from groupware.jobs import Job
from groupware.settings import Settings

PROVEN_DAYS = 30


@dataclass(frozen=True)
class Admission:
    """The verdict of :func:`admit`."""

    retry_after: int = 0  # seconds; set when the login must not be checked now
    counted_at_address: bool = False  # the address's counter holds this attempt


def delay_seconds(step: int, settings: Settings) -> int:
    """The wait after the ``step``-th failure at or past the free ones: the first
    delay, doubling, at most ``GROUPWARE_LOGIN_MAX_DELAY_MINUTES``."""
    cap = settings.login_max_delay_minutes * 60
    return cap if step > 30 else min(cap, settings.login_first_delay_seconds * 2 ** (step - 1))


def admit(
    session: Session,
    settings: Settings,
    *,
    username: str,
    address: str,
    now: dt.datetime | None = None,
) -> Admission:
    """Count a login of ``username`` (the account's name, lower case) from
    ``address`` as failed until it succeeds, or say how long it must wait. Run it
    in a write transaction of its own, committed before the password is checked."""
    now = now or utcnow()
    username, address = username.lower()[:254], address[:64]
    pair = _locked(session, "account", username, address, settings, now)
    if pair.next_at is not None and pair.next_at > now:
        return Admission(retry_after=_seconds(pair.next_at - now))
    counted = False
    if not _proven(session, username, address, now):
        at_address = _locked(session, "address", "", address, settings, now)
        if at_address.next_at is not None and at_address.next_at > now:
            return Admission(retry_after=_seconds(at_address.next_at - now))
        if pair.failures < settings.login_free_failures:
            _count(at_address, settings.login_free_failures_per_address, settings, now)
            counted = True
    _count(pair, settings.login_free_failures, settings, now)
    session.flush()
    return Admission(counted_at_address=counted)


def succeeded(session: Session, admission: Admission, *, username: str, address: str) -> None:
    """A login :func:`admit` counted was good: forget the account's failures at the
    address, give the address back its count, and note the account as proven there."""
    username, address = username.lower()[:254], address[:64]
    now = utcnow()
    session.execute(
        delete(LoginCounter).where(
            LoginCounter.kind == "account",
            LoginCounter.username == username,
            LoginCounter.address == address,
        )
    )
    if admission.counted_at_address:
        session.execute(
            update(LoginCounter)
            .where(
                LoginCounter.kind == "address",
                LoginCounter.address == address,
                LoginCounter.failures > 0,
            )
            .values(failures=LoginCounter.failures - 1)
        )
    _ensure(session, "proven", username, address, now)
    session.execute(
        update(LoginCounter)
        .where(
            LoginCounter.kind == "proven",
            LoginCounter.username == username,
            LoginCounter.address == address,
        )
        .values(last_at=now)
    )


def prune(session: Session, settings: Settings) -> int:
    """Delete counters past their use: failures after the forgetting time, proofs
    after :data:`PROVEN_DAYS`."""
    now = utcnow()
    forget = now - dt.timedelta(minutes=settings.login_throttle_minutes)
    proven = now - dt.timedelta(days=PROVEN_DAYS)
    result = session.execute(
        delete(LoginCounter).where(
            or_(
                (LoginCounter.kind != "proven")
                & (LoginCounter.last_at < forget)
                & or_(LoginCounter.next_at.is_(None), LoginCounter.next_at < now),
                (LoginCounter.kind == "proven") & (LoginCounter.last_at < proven),
            )
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _ensure(session: Session, kind: str, username: str, address: str, now: dt.datetime) -> None:
    """The counter's row, inserted unless it is there (by one statement: two logins
    at once must not both insert it)."""
    dialect = session.get_bind().dialect.name
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        make(LoginCounter)
        .values(kind=kind, username=username, address=address, failures=0, last_at=now)
        .on_conflict_do_nothing(index_elements=["kind", "username", "address"])
    )


def _locked(
    session: Session,
    kind: str,
    username: str,
    address: str,
    settings: Settings,
    now: dt.datetime,
) -> LoginCounter:
    """The counter's row, locked until the transaction ends; failures forgotten when
    the last one is old enough."""
    _ensure(session, kind, username, address, now)
    row = session.scalars(
        select(LoginCounter)
        .where(
            LoginCounter.kind == kind,
            LoginCounter.username == username,
            LoginCounter.address == address,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    forget = now - dt.timedelta(minutes=settings.login_throttle_minutes)
    if row.last_at < forget and (row.next_at is None or row.next_at <= now):
        row.failures, row.next_at = 0, None
    return row


def _count(row: LoginCounter, free: int, settings: Settings, now: dt.datetime) -> None:
    row.failures += 1
    row.last_at = now
    if row.failures >= free:
        row.next_at = now + dt.timedelta(seconds=delay_seconds(row.failures - free + 1, settings))


def _proven(session: Session, username: str, address: str, now: dt.datetime) -> bool:
    since = now - dt.timedelta(days=PROVEN_DAYS)
    return (
        session.scalar(
            select(LoginCounter.id).where(
                LoginCounter.kind == "proven",
                LoginCounter.username == username,
                LoginCounter.address == address,
                LoginCounter.last_at >= since,
            )
        )
        is not None
    )


def _seconds(wait: dt.timedelta) -> int:
    return max(1, math.ceil(wait.total_seconds()))


def _prune_job(session: Session, database: Database) -> int:
    return prune(session, database.settings)


PRUNE_JOB = Job("prune-login-attempts", _prune_job, "Forget failed logins past the window.")
