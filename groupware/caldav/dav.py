"""CalDAV at ``/dav/``: Radicale with our storage, auth and rights, mounted in the app.

Radicale is a WSGI app; a2wsgi runs it in a thread pool of its own. In front of it,
:class:`~groupware.caldav.gate.DavGate` checks what Radicale should not see (steering
headers, cross-site writes, oversized items, hostile XML) and around it
:class:`~groupware.caldav.gate.Reasons` says why a request was refused: every
override of Radicale's own answers lives in :mod:`groupware.caldav.gate`. Clients find
the server from its root: ``/.well-known/caldav`` redirects to ``/dav/``.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from typing import Any

import anyio.to_thread
import radicale
import radicale.config
from a2wsgi import WSGIMiddleware
from radicale.auth import AuthContext
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from groupware.accounts.models import User
from groupware.caldav import occupancy, store
from groupware.caldav.access import Auth, Rights
from groupware.caldav.gate import DavGate, Reasons
from groupware.caldav.storage import Storage
from groupware.db import Database
from groupware.requestlog import note_user
from groupware.settings import Settings
from groupware.web import client_address


def quiet_radicale(settings: Settings) -> None:
    """Radicale tells at INFO every setting it reads (its auth module when it is made,
    the app when it starts) and every request it serves: noise beside our own access
    log. Below ``debug`` its logger says only warnings and errors."""
    if settings.log_level != "debug":
        logging.getLogger("radicale").setLevel(logging.WARNING)


def radicale_app(settings: Settings, database: Database, auth: Auth) -> Any:
    configuration = radicale.config.load()
    limits = _limits(settings)
    configuration.update(
        {
            "auth": {
                "type": lambda conf: auth,
                "delay": "0",  # a throttled login is refused at once instead
            },
            "rights": {"type": lambda conf: Rights(conf, database)},
            "storage": {"type": lambda conf: Storage(conf, database, limits)},
            # Radicale sleeps a thread for a second after a 5xx: that holds a DAV thread
            # from everyone else while helping no one (the error is logged).
            # The largest item, as PROPFIND tells clients (C:max-resource-size); a body
            # over it is refused by the gate before Radicale reads it.
            "server": {"delay_on_error": "0", "max_resource_size": str(limits.max_item_bytes)},
            "web": {"type": "none"},
            "hook": {"type": "none"},
            "logging": {"level": "warning", "mask_passwords": "True"},
        },
        "groupware",
        privileged=True,
    )
    return radicale.Application(configuration)  # type: ignore[attr-defined]


def _limits(settings: Settings) -> store.Limits:
    return store.Limits(
        max_item_bytes=settings.dav_max_item_kb * 1024,
        max_calendars=settings.dav_max_calendars,
    )


def answer_throttled(app: Any, auth: Auth) -> Any:
    """Radicale answers every refused login 401, on which a client asks for the
    password again; a throttled login (not checked at all) is answered 429 with
    ``Retry-After`` instead."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        auth.throttled()  # nothing left over from this thread's last request
        auth.logged_in()
        started: list[tuple[Any, ...]] = []
        answers = app(environ, lambda *args: started.append(args))
        wait = auth.throttled()
        note_user(environ.get("asgi.scope"), auth.logged_in())
        if wait and started and str(started[0][0]).startswith("401"):
            if hasattr(answers, "close"):
                answers.close()
            body = f"Too many failed logins; try again in {wait} seconds.\n".encode()
            start_response(
                "429 Too Many Requests",
                [
                    ("Content-Type", "text/plain; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("Retry-After", str(wait)),
                ],
            )
            return [body]
        start_response(*started[0])
        return answers

    return wsgi


def _too_many(wait: int) -> Response:
    text = f"Too many failed logins; try again in {wait} seconds."
    return PlainTextResponse(text, 429, headers={"Retry-After": str(wait)})


class AtDavRoot:
    """A DAV request to the server's root answered as one to ``/dav/``: a client set up
    with only the server's address asks the root who the user is (its principal), and
    the answer's hrefs lead it on under ``/dav/``."""

    def __init__(self, gate: DavGate) -> None:
        self.gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.gate(
            {**scope, "path": "/dav/", "raw_path": b"/dav/", "root_path": "/dav"}, receive, send
        )


DAV_METHODS = ["PROPFIND", "REPORT"]


def _well_known(request: Request) -> Response:
    return RedirectResponse("/dav/", status_code=301)


FREEBUSY_WEEKS = 8


def _free_busy_url(database: Database, settings: Settings, auth: Auth) -> Any:
    """``/freebusy/<email>.ifb``: a colleague's busy times for the next weeks, as
    Outlook reads them; for any logged-in user (Basic auth), like CalDAV's free/busy."""

    def answer(email: str, login: str, password: str, address: str) -> Response:
        context = AuthContext()  # type: ignore[no-untyped-call]
        context.remote_addr = address
        if not auth.login(login, password, context)[0]:
            wait = auth.throttled()
            return _too_many(wait) if wait else _ask_to_log_in()
        with database.session() as session, session.begin():
            user = session.scalar(select(User).where(func.lower(User.email) == email.lower()))
            if user is None or not user.is_active:
                return PlainTextResponse("There is no such person.", 404)
            start = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
            end = start + dt.timedelta(weeks=FREEBUSY_WEEKS)
            times = occupancy.busy(session, None, [user.id], start, end)
            text = occupancy.vfreebusy(times, start, end, user.email)
        return Response(text, media_type="text/calendar; charset=utf-8")

    async def endpoint(request: Request) -> Response:
        credentials = _basic(request.headers.get("Authorization", ""))
        if credentials is None:
            return _ask_to_log_in()
        email = request.path_params["email"]
        address = client_address(request, settings.trusted_proxies)
        return await anyio.to_thread.run_sync(answer, email, *credentials, address)

    return endpoint


def _basic(header: str) -> tuple[str, str] | None:
    scheme, _sep, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, sep, password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (login, password) if sep else None


def _ask_to_log_in() -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="groupware", charset="UTF-8"'}
    return PlainTextResponse("Log in with your user name and password.", 401, headers=headers)


def routes(settings: Settings, database: Database) -> list[BaseRoute]:
    quiet_radicale(settings)  # before the first Radicale object is made
    auth = Auth(radicale.config.load(), database, settings)
    limits = _limits(settings)
    app = Reasons(answer_throttled(radicale_app(settings, database, auth), auth), limits)
    wsgi = WSGIMiddleware(app, workers=settings.dav_threads)  # type: ignore[arg-type]
    gate = DavGate(wsgi, settings)  # type: ignore[arg-type]
    return [
        Route("/.well-known/caldav", _well_known, methods=["GET", "HEAD", "PROPFIND", "OPTIONS"]),
        Route("/", AtDavRoot(gate), methods=DAV_METHODS),
        Mount("/dav", app=gate, name="dav"),
        Route(
            "/freebusy/{email}.ifb",
            _free_busy_url(database, settings, auth),
            methods=["GET", "HEAD"],
            name="free_busy",
        ),
    ]
