"""Logins of protocol clients (CalDAV, SMTP): a password or an app password, with every
request or connection.

The check is the throttled one every login goes through (:mod:`groupware.accounts.auth`).
A client sends its password over and over, and an argon2 check costs tens of
milliseconds, so a successful login is remembered for :data:`REMEMBER_SECONDS` under a
keyed hash of (login, password), with what it was proven against; each use checks by
one indexed read that the account is still active and its password (or app password)
unchanged, so a changed password or a revoked app password stops working at once.
Failures are never remembered. A throttled login is refused at once (no sleeping
thread) with the seconds to wait, so a server can answer "try again later" rather
than "wrong password"; a remembered login is served before any throttle: one user's
wrong passwords, even from the same office address, never hold up or lock out anyone
else.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

from groupware.accounts import auth as accounts_auth
from groupware.accounts import credentials
from groupware.accounts.models import Credential, User
from groupware.db import Database
from groupware.settings import Settings

REMEMBER_SECONDS = 15 * 60
REMEMBERED_MAX = 10_000


@dataclass(frozen=True)
class Outcome:
    """What a protocol login came to: the user, or nobody (wrong login), or nobody for
    now (throttled: ``retry_after`` seconds)."""

    username: str = ""
    user_id: int | None = None
    retry_after: int = 0


@dataclass(frozen=True)
class Remembered:
    """A login proven by a password check, and what it was proven against."""

    username: str
    user_id: int
    proof: str  # the password hash then, or "app:<id>" for an app password
    until: float


class ProtocolLogins:
    """The logins of one process's protocol servers (see the module docstring)."""

    def __init__(self, database: Database, settings: Settings, channel: str) -> None:
        self.database = database
        self.settings = settings
        self.channel = channel
        self._key = hashlib.sha256(settings.secret_key.encode() + b"protocol-login").digest()
        self._remembered: dict[bytes, Remembered] = {}
        self._lock = threading.Lock()

    def login(self, login: str, password: str, address: str) -> Outcome:
        """The outcome of a login: the user, or why not. Blocks: call it off the event
        loop."""
        if not login or not password or len(login) > 254 or len(password) > 1024:
            return Outcome()
        digest = hmac.new(self._key, f"{login}\0{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            remembered = self._remembered.get(digest)
        if remembered is not None and remembered.until > now and self._still_good(remembered):
            return Outcome(remembered.username, remembered.user_id)
        proven = self._check(login, password, address)
        if not isinstance(proven, tuple):
            return proven
        with self._lock:
            if len(self._remembered) >= REMEMBERED_MAX:
                self._remembered = {k: v for k, v in self._remembered.items() if v.until > now}
            self._remembered[digest] = Remembered(*proven, until=now + REMEMBER_SECONDS)
        return Outcome(proven[0], proven[1])

    def _still_good(self, remembered: Remembered) -> bool:
        """One indexed read instead of argon2: the account is active and its password
        (or the app password) is what it was when the login was proven."""
        with self.database.session() as session, session.begin():
            user = session.get(User, remembered.user_id)
            if user is None or not user.is_active:
                return False
            if remembered.proof.startswith("app:"):
                credential = session.get(Credential, int(remembered.proof[4:]))
                return credential is not None and credential.revoked_at is None
            return user.password_hash == remembered.proof

    def _check(self, login: str, password: str, address: str) -> tuple[str, int, str] | Outcome:
        """(user name, id, proof) of a good login, else the outcome to answer."""
        with self.database.transaction(actor_id=None, channel=self.channel) as session:
            attempt = accounts_auth.begin(session, self.settings, username=login, address=address)
        if attempt.retry_after:
            return Outcome(retry_after=attempt.retry_after)
        with self.database.session() as session, session.begin():
            check = accounts_auth.check_password(session, attempt, password, app_passwords=True)
        with self.database.transaction(actor_id=check.user_id, channel=self.channel) as session:
            user: User | None = accounts_auth.record(session, check)
            if user is None:
                return Outcome()
            app = credentials.app_password(session, user, password)
            proof = f"app:{app.id}" if app is not None else (user.password_hash or "")
            return user.username, user.id, proof
