"""Logins of protocol clients (CalDAV, SMTP): a password or an app password, with every
request or connection.

The check is the throttled one every login goes through (:mod:`groupware.accounts.auth`).
A client sends its password over and over, and an argon2 check costs tens of
milliseconds, so a successful login is remembered for :data:`REMEMBER_SECONDS` under a
keyed hash of (login, password), with what it was proven against; each use checks by
one indexed read that the account is still active and its password (or app password)
unchanged, so a changed password or a revoked app password stops working at once.
Failures are never remembered. A throttled login is refused at once (no sleeping
thread), and a remembered login is served before any throttle: one user's wrong
passwords, even from the same office address, never hold up or lock out anyone else.
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

    def login(self, login: str, password: str, address: str) -> tuple[str, int] | None:
        """(user name, user id) for a good login, None otherwise. Blocks: call it off
        the event loop."""
        if not login or not password or len(login) > 254 or len(password) > 1024:
            return None
        digest = hmac.new(self._key, f"{login}\0{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            remembered = self._remembered.get(digest)
        if remembered is not None and remembered.until > now and self._still_good(remembered):
            return remembered.username, remembered.user_id
        proven = self._check(login, password, address)
        if proven is None:
            return None
        with self._lock:
            if len(self._remembered) >= REMEMBERED_MAX:
                self._remembered = {k: v for k, v in self._remembered.items() if v.until > now}
            self._remembered[digest] = Remembered(*proven, until=now + REMEMBER_SECONDS)
        return proven[0], proven[1]

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

    def _check(self, login: str, password: str, address: str) -> tuple[str, int, str] | None:
        with self.database.session() as session, session.begin():
            check = accounts_auth.check_password(
                session,
                self.settings,
                username=login,
                password=password,
                address=address,
                app_passwords=True,
            )
        if check.retry_after:
            return None
        with self.database.transaction(actor_id=check.user_id, channel=self.channel) as session:
            user: User | None = accounts_auth.record(session, check)
            if user is None:
                return None
            app = credentials.app_password(session, user, password)
            proof = f"app:{app.id}" if app is not None else (user.password_hash or "")
            return user.username, user.id, proof
