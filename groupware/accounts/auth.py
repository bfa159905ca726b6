"""Logging in with a password: throttled, timing-safe, shared by web, DAV and SMTP.

Web logins take the account password only; protocol clients (CalDAV, SMTP, WebDAV) may
use the account password or an app password. A login has three phases so that the
slow password check never holds a write lock: :func:`begin` counts the login with the
throttle (:mod:`groupware.accounts.throttle`) in a short write transaction of its own,
committed before anything else (so parallel logins are counted one after the other);
:func:`check_password` only reads (run it in a read transaction, off the event loop);
:func:`record` writes the outcome in a short transaction of its own (a good login gives
back what it counted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from groupware.accounts import credentials, throttle
from groupware.accounts.models import User
from groupware.accounts.passwords import hash_password, needs_rehash, verify_password
from groupware.accounts.users import find_user
from groupware.settings import Settings


@dataclass(frozen=True)
class Attempt:
    """A login counted by :func:`begin`."""

    key: str  # the account name failures are counted against
    address: str
    admission: throttle.Admission = field(default_factory=throttle.Admission)

    @property
    def retry_after(self) -> int:
        return self.admission.retry_after


@dataclass(frozen=True)
class PasswordCheck:
    """The verdict of :func:`check_password`, to be written by :func:`record`."""

    ok: bool
    attempt: Attempt
    user_id: int | None = None
    credential_id: int | None = None  # an app password whose use is to be noted
    new_hash: str | None = None  # the password hashed with today's parameters

    @property
    def retry_after(self) -> int:
        """Seconds to wait; set when the login was throttled (and not checked)."""
        return self.attempt.retry_after


def begin(session: Session, settings: Settings, *, username: str, address: str) -> Attempt:
    """Count a login with the throttle; commit before :func:`check_password`."""
    user = find_user(session, username)
    # "alice" and "alice@company" are one account: count their failures together.
    key = user.username if user is not None else username.strip().lower()[:254]
    admission = throttle.admit(session, settings, username=key, address=address)
    return Attempt(key, address, admission)


def check_password(
    session: Session, attempt: Attempt, password: str, *, app_passwords: bool = False
) -> PasswordCheck:
    """Check a login without writing anything. Slow on purpose (argon2); a throttled
    attempt is not checked at all."""
    if attempt.retry_after:
        return PasswordCheck(False, attempt)
    user = find_user(session, attempt.key)
    active = user is not None and user.is_active
    if active and app_passwords and user is not None:
        matched = credentials.app_password(session, user, password)
        if matched is not None:
            stale = matched.id if credentials.is_stale(matched) else None
            return PasswordCheck(True, attempt, user.id, credential_id=stale)
    # Always verify, even for unknown users, so timing does not tell them apart.
    password_hash = user.password_hash if user is not None else None
    if not (verify_password(password_hash, password) and active and user is not None):
        return PasswordCheck(False, attempt)
    new_hash = hash_password(password) if password_hash and needs_rehash(password_hash) else None
    return PasswordCheck(True, attempt, user.id, new_hash=new_hash)


def record(session: Session, check: PasswordCheck) -> User | None:
    """Write the outcome of a check; returns the user when the login succeeded. A
    failure was counted by :func:`begin` already and writes nothing more."""
    if not check.ok or check.user_id is None:
        return None
    user = session.get(User, check.user_id)
    if user is None or not user.is_active:
        return None
    attempt = check.attempt
    throttle.succeeded(session, attempt.admission, username=attempt.key, address=attempt.address)
    if check.credential_id is not None:
        credentials.touch(session, check.credential_id)
    if check.new_hash is not None:
        user.password_hash = check.new_hash
    return user
