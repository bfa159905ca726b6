"""The access log: one line per HTTP request at INFO, through the app's own logging.

``GET /partners 200 12.4 ms user=7``: method, path, status, duration and the id of the
user the request was served for (``-`` when nobody logged in). The query string is left
out on purpose: it can carry what does not belong in a log file (a search for a
person's name, a token in a link), and the path says which page it was. Nothing of a
request's body or headers is logged, so no password can reach the log.

Whoever learns who the user is (the page wrapper from the session cookie, the API from
its token, CalDAV from its login) tells it with :func:`note_user`; the middleware puts
a holder for it into the request's scope, which every copy of the scope down the stack
(mounts, the DAV gate) shares.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("groupware.access")

_HOLDER = "groupware.request"


def note_user(scope: Any, user_id: int | None) -> None:
    """Say whom the request in ``scope`` is served for (a no-op outside the log)."""
    holder = scope.get(_HOLDER) if isinstance(scope, dict) else None
    if holder is not None and user_id is not None:
        holder["user"] = user_id


class AccessLog:
    """Logs each HTTP request once its answer has been sent (or has failed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        holder: dict[str, Any] = {"user": None, "status": 0}
        scope[_HOLDER] = holder
        # Read now: routing rewrites the scope's path and root_path as it goes (mounts).
        method, path = scope["method"], scope.get("root_path", "") + scope["path"]
        started = time.perf_counter()

        async def noting_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                holder["status"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_status)
        finally:
            # An exception before any answer is the server error the client gets.
            status = holder["status"] or 500
            log.info(
                "%s %s %d %.1f ms user=%s",
                method,
                path,
                status,
                (time.perf_counter() - started) * 1000,
                holder["user"] if holder["user"] is not None else "-",
            )
