"""Who may use ``/dav/`` and what they may do there: Radicale's auth and rights plugins.

Auth: the account password or an app password, through the same throttled check as
every other login (:mod:`groupware.accounts.auth`). A client sends its password with
every request, and an argon2 check costs tens of milliseconds, so a successful login
is remembered for :data:`REMEMBER_SECONDS` under a keyed hash of (login, password),
with what it was proven against; each use checks by one indexed read that the account
is still active and its password (or app password) unchanged, so a changed password
or a revoked app password stops working at once. Failures are never remembered. A
throttled login is refused at once (no sleeping thread), and a remembered login is
served before any throttle: one user's wrong passwords, even from the same office
address, never hold up or lock out anyone else.

Rights, as Radicale's letters: ``R``/``W`` read/write a principal (a calendar home),
``r``/``w`` a calendar, ``f`` its free/busy only. Your own home and calendars: all of
them. A colleague's home: ``R`` (so a client can find their calendars); a colleague's
calendar: ``f``, or ``r``/``rw`` when it is shared with you or one of your teams to
read or to write. Nothing for anyone else, and nothing without a login.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass
from typing import Any

from radicale import pathutils
from radicale.auth import AuthContext, BaseAuth
from radicale.rights import BaseRights
from sqlalchemy import or_, select

from groupware.access.models import Share
from groupware.accounts import auth as accounts_auth
from groupware.accounts import credentials
from groupware.accounts.models import Credential, TeamMember, User
from groupware.caldav.models import Calendar
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


class Auth(BaseAuth):
    def __init__(self, configuration: Any, database: Database, settings: Settings) -> None:
        super().__init__(configuration)
        self.database = database
        self.settings = settings
        self._key = hashlib.sha256(settings.secret_key.encode() + b"dav-login").digest()
        self._remembered: dict[bytes, Remembered] = {}
        self._lock = threading.Lock()

    # Radicale marks login() final: its own sleeps after a failure to even out timing,
    # holding a thread. Ours refuses throttled logins at once and times the password
    # check the same for known and unknown users, so it replaces the whole method.
    def login(  # type: ignore[misc]
        self, login: str, password: str, context: AuthContext
    ) -> tuple[str, str, set[str]]:
        if not login or not password or len(login) > 254 or len(password) > 1024:
            return "", "groupware", set()
        digest = hmac.new(self._key, f"{login}\0{password}".encode(), hashlib.sha256).digest()
        now = time.monotonic()
        with self._lock:
            remembered = self._remembered.get(digest)
        if remembered is not None and remembered.until > now and self._still_good(remembered):
            # Before any throttle: a colleague's wrong passwords from the same office
            # address never lock out someone whose password was already proven.
            return remembered.username, "groupware", set()
        proven = self._check(login, password, context.remote_addr or "")
        if proven is None:
            return "", "groupware", set()
        with self._lock:
            if len(self._remembered) >= REMEMBERED_MAX:
                self._remembered = {k: v for k, v in self._remembered.items() if v.until > now}
            self._remembered[digest] = Remembered(*proven, until=now + REMEMBER_SECONDS)
        return proven[0], "groupware", set()

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
        with self.database.transaction(actor_id=check.user_id, channel="dav") as session:
            user: User | None = accounts_auth.record(session, check)
            if user is None:
                return None
            app = credentials.app_password(session, user, password)
            proof = f"app:{app.id}" if app is not None else (user.password_hash or "")
            return user.username, user.id, proof

    def _login(self, login: str, password: str) -> str:  # pragma: no cover - login() rules
        return ""


class Rights(BaseRights):
    def __init__(self, configuration: Any, database: Database) -> None:
        super().__init__(configuration)
        self.database = database

    def authorization(self, user: str, user_groups: set[str], path: str) -> str:
        if not user:
            return ""
        sane = pathutils.strip_path(path)
        if not sane:
            return "R"
        parts = sane.split("/")
        if parts[0] == user:
            return "RW" if len(parts) == 1 else "rw"
        if len(parts) == 1:
            return "R"
        shared = self._shared(user, parts[0], parts[1])
        return {"write": "rw", "read": "r"}.get(shared or "", "f")

    def _shared(self, user: str, owner: str, slug: str) -> str | None:
        """How ``owner``'s calendar ``slug`` is shared with ``user`` (or their teams)."""
        with self.database.session() as session, session.begin():
            viewer = session.scalar(select(User).where(User.username == user))
            if viewer is None:
                return None
            teams = select(TeamMember.team_id).where(TeamMember.user_id == viewer.id)
            query = (
                select(Share.permission)
                .join(Calendar, Calendar.id == Share.record_id)
                .join(User, User.id == Calendar.owner_id)
                .where(
                    Share.record_type == "calendars",
                    User.username == owner,
                    Calendar.slug == slug,
                    or_(Share.user_id == viewer.id, Share.team_id.in_(teams)),
                )
            )
            found = set(session.scalars(query))
        return "write" if "write" in found else ("read" if found else None)
