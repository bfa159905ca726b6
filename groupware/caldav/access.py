"""Who may use ``/dav/`` and what they may do there: Radicale's auth and rights plugins.

Auth: the account password or an app password, through the same throttled check as
every other login (:mod:`groupware.accounts.auth`). A client sends its password with
every request, and an argon2 check costs tens of milliseconds, so a successful login
is remembered for :data:`REMEMBER_SECONDS` under a keyed hash of (login, password);
failures are never remembered, so a changed or revoked password stops working within
that time. A throttled login is refused at once (no sleeping thread), so one user's
wrong passwords never hold up anyone else.

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
from typing import Any

from radicale import pathutils
from radicale.auth import AuthContext, BaseAuth
from radicale.rights import BaseRights
from sqlalchemy import or_, select

from groupware.access.models import Share
from groupware.accounts import auth as accounts_auth
from groupware.accounts.models import TeamMember, User
from groupware.caldav.models import Calendar
from groupware.db import Database
from groupware.settings import Settings

REMEMBER_SECONDS = 60
REMEMBERED_MAX = 10_000


class Auth(BaseAuth):
    def __init__(self, configuration: Any, database: Database, settings: Settings) -> None:
        super().__init__(configuration)
        self.database = database
        self.settings = settings
        self._key = hashlib.sha256(settings.secret_key.encode() + b"dav-login").digest()
        self._remembered: dict[bytes, tuple[str, float]] = {}
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
        if remembered is not None and remembered[1] > now:
            return remembered[0], "groupware", set()
        username = self._check(login, password, context.remote_addr or "")
        if username:
            with self._lock:
                if len(self._remembered) >= REMEMBERED_MAX:
                    self._remembered = {k: v for k, v in self._remembered.items() if v[1] > now}
                self._remembered[digest] = (username, now + REMEMBER_SECONDS)
        return username, "groupware", set()

    def _check(self, login: str, password: str, address: str) -> str:
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
            return ""
        with self.database.transaction(actor_id=check.user_id, channel="dav") as session:
            user: User | None = accounts_auth.record(session, check)
            return "" if user is None else user.username

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
