"""Logging in with a password: throttled, timing-safe, shared by web, DAV and SMTP.

Web logins take the account password only; protocol clients (CalDAV, SMTP, WebDAV) may
use the account password or an app password. A login has two phases so that the slow
password check never holds a write lock: :func:`check_password` only reads (run it in
a read transaction, off the event loop), :func:`record` writes the outcome in a short
transaction of its own (a failure is counted even though the request fails). A
successful login with nothing to clean up writes nothing at all.
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
class PasswordCheck:
    """The verdict of :func:`check_password`, to be written by :func:`record`."""

    ok: bool
    key: str  # the account name failures are counted against
    address: str
    user_id: int | None = None
    retry_after: int = 0  # seconds; set when throttled
    credential_id: int | None = None  # an app password whose use is to be noted
    new_hash: str | None = None  # the password hashed with today's parameters


def check_password(
    session: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    address: str,
    app_passwords: bool = False,
) -> PasswordCheck:
    """Check a login without writing anything. Slow on purpose (argon2)."""
    user = find_user(session, username)
    # "alice" and "alice@company" are one account: count their failures together.
    key = user.username if user is not None else username.strip().lower()[:254]
    wait = throttle.retry_after(session, settings, username=key, address=address)
    if wait:
        return PasswordCheck(False, key, address, retry_after=wait)
    active = user is not None and user.is_active
    if active and app_passwords and user is not None:
        matched = credentials.app_password(session, user, password)
        if matched is not None:
            stale = matched.id if credentials.is_stale(matched) else None
            return PasswordCheck(True, key, address, user.id, credential_id=stale)
    # Always verify, even for unknown users, so timing does not tell them apart.
    password_hash = user.password_hash if user is not None else None
    if not (verify_password(password_hash, password) and active and user is not None):
        return PasswordCheck(False, key, address)
    new_hash = hash_password(password) if password_hash and needs_rehash(password_hash) else None
    return PasswordCheck(True, key, address, user.id, new_hash=new_hash)


def record(session: Session, check: PasswordCheck) -> User | None:
    """Write the outcome of a check; returns the user when the login succeeded."""
    if not check.ok or check.user_id is None:
        throttle.record_failure(session, username=check.key, address=check.address)
        return None
    user = session.get(User, check.user_id)
    if user is None or not user.is_active:
        return None
    throttle.clear(session, username=check.key)
    if check.credential_id is not None:
        credentials.touch(session, check.credential_id)
    if check.new_hash is not None:
        user.password_hash = check.new_hash
    return user
