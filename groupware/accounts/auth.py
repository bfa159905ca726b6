"""Logging in with a password: throttled, timing-safe, shared by web, DAV and SMTP.

Web logins take the account password only. Protocol clients (CalDAV, SMTP, WebDAV) may
use the account password or an app password.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from groupware.accounts import credentials, throttle
from groupware.accounts.models import User
from groupware.accounts.passwords import hash_password, needs_rehash, verify_password
from groupware.accounts.users import find_user
from groupware.settings import Settings


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    retry_after: int = 0  # seconds; set when throttled


def login(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    address: str,
    app_passwords: bool = False,
) -> LoginResult:
    """Check a login; a success clears earlier failures.

    A failure is *not* recorded here: the caller records it with
    :func:`groupware.accounts.throttle.record_failure` in a transaction that is kept
    even though the request fails. The password check is slow on purpose: call this
    off the event loop.
    """
    wait = throttle.retry_after(session, settings, username=username, address=address)
    if wait:
        return LoginResult(None, retry_after=wait)
    user = find_user(session, username)
    ok = False
    if user is not None and user.is_active and app_passwords:
        ok = credentials.check_app_password(session, user, password)
    if not ok:
        # Always verify, even for unknown users, so timing does not tell them apart.
        ok = verify_password(user.password_hash if user else None, password)
        ok = ok and user is not None and user.is_active
    if not ok or user is None:
        return LoginResult(None)
    throttle.clear(session, username=username)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return LoginResult(user)
