"""Who may use ``/dav/`` and what they may do there: Radicale's auth and rights plugins.

Auth: the account password or an app password, checked as every protocol client's
login is (:mod:`groupware.accounts.protocol_login`: throttled, remembered once proven,
never sleeping a thread).

Rights, as Radicale's letters: ``R``/``W`` read/write a principal (a calendar home),
``r``/``w`` a calendar, ``f`` its free/busy only. Your own home and calendars: all of
them. A colleague's home: ``R`` (so a client can find their calendars); a colleague's
calendar: ``f``, or ``r``/``rw`` when it is shared with you or one of your teams to
read or to write (never to delete the calendar or replace it whole: ``d``, ``o``).
Nothing for anyone else, and nothing without a login.
"""

from __future__ import annotations

import threading
from typing import Any

from radicale import pathutils
from radicale.auth import AuthContext, BaseAuth
from radicale.rights import BaseRights
from sqlalchemy import select

from groupware.accounts.models import User
from groupware.accounts.protocol_login import ProtocolLogins
from groupware.caldav import privacy
from groupware.caldav.models import Calendar
from groupware.db import Database
from groupware.settings import Settings


class Auth(BaseAuth):
    def __init__(self, configuration: Any, database: Database, settings: Settings) -> None:
        super().__init__(configuration)
        self.logins = ProtocolLogins(database, settings, "dav")
        self._waits = threading.local()  # each request runs on one thread

    # Radicale marks login() final: its own sleeps after a failure to even out timing,
    # holding a thread. Ours refuses throttled logins at once and times the password
    # check the same for known and unknown users, so it replaces the whole method.
    def login(  # type: ignore[misc]
        self, login: str, password: str, context: AuthContext
    ) -> tuple[str, str, set[str]]:
        found = self.logins.login(login, password, context.remote_addr or "")
        self._waits.seconds = found.retry_after
        self._waits.user_id = found.user_id
        return found.username, "groupware", set()

    def throttled(self) -> int:
        """Seconds the last login on this thread must wait (0: it was not throttled);
        read once (see ``dav.answer_throttled``)."""
        seconds: int = getattr(self._waits, "seconds", 0)
        self._waits.seconds = 0
        return seconds

    def logged_in(self) -> int | None:
        """The id of the user the last login on this thread found (None: nobody); read
        once, like :meth:`throttled`."""
        user_id: int | None = getattr(self._waits, "user_id", None)
        self._waits.user_id = None
        return user_id

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
        # Radicale's "d" and "o" deny deleting the calendar and replacing it whole (a
        # PUT of a calendar): a share opens up its items, the calendar stays its owner's.
        return {"write": "rwdo", "read": "r"}.get(shared or "", "f")

    def _shared(self, user: str, owner: str, slug: str) -> str | None:
        """How ``user`` may use ``owner``'s calendar ``slug``: "write", "read" or None
        (free/busy only), as the access policy answers (:func:`privacy.access_of`)."""
        with self.database.session() as session, session.begin():
            viewer = session.scalar(select(User.id).where(User.username == user))
            calendar = session.scalar(
                select(Calendar)
                .join(User, User.id == Calendar.owner_id)
                .where(User.username == owner, Calendar.slug == slug)
            )
            if viewer is None or calendar is None:
                return None
            access = privacy.access_of(session, viewer, [calendar])[calendar.id]
        return access if access in ("read", "write") else None
