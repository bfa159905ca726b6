"""Throttling of failed logins, per account and per client address.

Failures are rows in ``login_attempts`` so the count holds across processes. An account
with too many recent failures is locked for the rest of the window; so is an address.
A successful login clears the account's failures.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from groupware.accounts.models import LoginAttempt
from groupware.db import utcnow
from groupware.settings import Settings


def retry_after(session: Session, settings: Settings, *, username: str, address: str) -> int:
    """Seconds until a login for ``username`` from ``address`` may be tried; 0 if now."""
    window = dt.timedelta(minutes=settings.login_throttle_minutes)
    since = utcnow() - window
    waits = [0]
    for column, key, limit in (
        (LoginAttempt.username, username.lower(), settings.login_max_failures_per_account),
        (LoginAttempt.address, address, settings.login_max_failures_per_address),
    ):
        count, oldest = session.execute(
            select(func.count(), func.min(LoginAttempt.at)).where(
                column == key, LoginAttempt.at >= since
            )
        ).one()
        if count >= limit and oldest is not None:
            waits.append(max(1, int((oldest + window - utcnow()).total_seconds())))
    return max(waits)


def record_failure(session: Session, *, username: str, address: str) -> None:
    session.add(LoginAttempt(username=username.lower()[:254], address=address[:64]))
    session.flush()


def clear(session: Session, *, username: str) -> None:
    """Forget an account's failures; writes only when there are some."""
    key = username.lower()
    if session.scalar(select(LoginAttempt.id).where(LoginAttempt.username == key).limit(1)):
        session.execute(delete(LoginAttempt).where(LoginAttempt.username == key))


def prune(session: Session, settings: Settings) -> int:
    cutoff = utcnow() - dt.timedelta(minutes=settings.login_throttle_minutes)
    result = session.execute(delete(LoginAttempt).where(LoginAttempt.at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
