"""The web application: ``create_app(settings)`` builds the Starlette app.

:class:`Groupware` holds what one process shares between requests: settings, the
database, the template environment and the secret key. Areas contribute routes (their
``web.routes`` and ``api.routes``) and navigation entries (``web.nav``); the app mounts
them, serves ``web/static`` and adds the security headers to every response.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import anyio.to_thread
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from groupware import i18n, records, wiring
from groupware.accounts.passwords import use_hashing
from groupware.areas import install
from groupware.db import Database
from groupware.lists import cells as list_cells
from groupware.notifications.service import unread_count
from groupware.requestlog import AccessLog
from groupware.settings import Settings
from groupware.web import Ctx, NavItem

log = logging.getLogger(__name__)
T = TypeVar("T")
WEB_DIR = Path(__file__).resolve().parent.parent / "web"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class NavLink(NamedTuple):
    """An entry of the main navigation as a page shows it."""

    label: Any
    url: str
    active: bool  # the section the page is in (aria-current="page")
    icon: str


@dataclass(frozen=True)
class Shell:
    """What the base layout shows around every page."""

    nav: list[NavLink]
    unread: int
    badges: dict[str, int] = field(default_factory=dict)  # by nav URL
    # The header's "+" menu: (label, URL) of what the user may create.
    create: list[tuple[Any, str]] = field(default_factory=list)


class Groupware:
    """Process-wide state of the web application."""

    def __init__(self, settings: Settings, database: Database | None = None) -> None:
        self.settings = settings
        self.database = database or Database(settings)
        self.secret_key = settings.ensure_secret_key()
        self.max_part_size = settings.max_request_mb * 1024 * 1024
        self.templates = make_templates()
        self.nav: list[NavItem] = []
        # Page routes by name, for building their URLs (see ``Ctx.url``).
        self.page_routes: dict[str, Route] = {}
        self._nav_urls: dict[str, str] = {}
        i18n.set_default_timezone(settings.timezone)
        use_hashing(settings.password_hashing)

    async def db_run(self, fn: Callable[[Session], T], *, write: bool) -> T:
        """Run ``fn`` with a fresh session (see the README's architecture section)."""

        def call() -> T:
            with self.database.session(write=write) as session:
                return fn(session)

        return await anyio.to_thread.run_sync(call)

    def shell(self, ctx: Ctx) -> Shell:
        who = ctx.acting
        path = ctx.request.url.path
        shown: list[tuple[NavItem, str]] = []
        badges: dict[str, int] = {}
        for item in self.nav:
            if item.admin and not who.is_admin:
                continue
            if item.module and not who.can(item.module, item.action):
                continue
            url = self._url(ctx, item.endpoint)
            shown.append((item, url))
            if item.badge is not None:
                badges[url] = item.badge(ctx.db, ctx.me.id)
        active = active_section(path, [url for _item, url in shown])
        items = [NavLink(item.label, url, url == active, item.icon) for item, url in shown]
        create = [
            (entry.label, self._url(ctx, entry.endpoint))
            for entry in wiring.current().quick_create
            if entry.module is None or who.can(entry.module, entry.action)
        ]
        unread = unread_count(ctx.db, ctx.me.id)
        return Shell(nav=items, unread=unread, badges=badges, create=create)

    def _url(self, ctx: Ctx, endpoint: str) -> str:
        url = self._nav_urls.get(endpoint)
        if url is None:  # worked out once: route lookups walk every route
            url = self._nav_urls[endpoint] = ctx.url(endpoint)
        return url

    def finish(self, ctx: Ctx, response: Response) -> None:
        """Cookies and the deferred bookkeeping writes of a request."""
        for name, value, max_age in ctx.cookies:
            if max_age == 0:
                response.delete_cookie(name, path="/")
                continue
            response.set_cookie(
                name,
                value,
                max_age=max_age,
                path="/",
                httponly=True,
                samesite="lax",
                secure=self.settings.secure_cookies,
            )
        if ctx.user is not None:
            response.headers["Cache-Control"] = "no-store"
        self.bookkeeping(ctx.after)

    def bookkeeping(self, writes: list[Callable[[Session], None]]) -> None:
        """Writes that must not share a request's transaction: noting activity, counting
        a failed login. Each runs in a short write transaction of its own, after the
        request's work, and a failure is logged rather than failing the request."""
        for write in writes:
            try:
                with self.database.session(write=True) as session, session.begin():
                    write(session)
            except OperationalError:
                log.warning("bookkeeping write failed", exc_info=True)


def active_section(path: str, urls: list[str]) -> str | None:
    """The navigation URL of the section ``path`` is in: the longest one it lies under
    (``/deals/board`` is under ``/deals``), else the one of its first segment
    (``/admin/teams`` is in Administration, whose entry is ``/admin/users``)."""
    under = [u for u in urls if path == u or path.startswith(u.rstrip("/") + "/")]
    under = [u for u in under if u != "/" or path == "/"]
    if under:
        return max(under, key=len)
    segment = path.strip("/").partition("/")[0]
    same = [u for u in urls if segment and u.strip("/").partition("/")[0] == segment]
    return same[0] if same else None


@pass_context
def _url_for(context: Context, name: str, /, **params: Any) -> str:
    """``url_for('partner', partner_id=7)`` in a template: the path of a named route
    (templates never spell an internal address out)."""
    ctx: Ctx = context["ctx"]
    return ctx.url(name, **params)


def make_templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=select_autoescape(["html", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates change with a release, not while serving: no stat() per render.
        auto_reload=False,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.template_gettext, i18n.template_ngettext, newstyle=True
    )
    env.filters.update(
        date=i18n.format_date,
        datetime=i18n.format_datetime,
        number=i18n.format_number,
        money=i18n.format_money,
        money_short=i18n.format_money_short,
    )
    env.globals.update(
        LANGUAGES=i18n.LANGUAGE_NAMES,
        record_label=records.record_label,
        record_url=records.record_url,
        field_label=records.field_label,
        url_for=_url_for,
        list_cells=list_cells.Cells,
        # The kinds of process type (deal types, campaign types...), for the admin menu.
        process_kinds=lambda: list(wiring.current().process_kinds.values()),
    )
    # The shared pieces of the look (icons, marks), in every template and in each of
    # its blocks without an import: ``{{ ui.icon("mail") }}``.
    env.globals["ui"] = env.get_template("_ui.html").module
    return env


class SecurityHeaders:
    """Adds CSP, nosniff and frame protection to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RefuseNul:
    """Answers 400 to an address with a NUL in it (``%00``): no page or operation takes
    one, and PostgreSQL cannot store or even compare text holding it (it was a 500 on
    every search). Bodies are checked where they are read (``validation``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (b"%00" in scope["query_string"] or "\x00" in scope["path"]):
            message = i18n.lazy_gettext("The address contains a character that is not allowed.")
            await _plain_error(Request(scope), 400, message)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses request bodies over the limit with our own 413 page or JSON: at once when
    Content-Length says so, or as soon as a streamed body grows past it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.limit:
            response = _plain_error(Request(scope), 413, "")
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise HTTPException(413)
            return message

        await self.app(scope, counted, send)


def _plain_error(request: Request, status: int, detail: Any) -> Response:
    """Errors raised before a handler runs (no route, wrong method, body too large) and
    unexpected failures: JSON under /api, a page elsewhere, in the visitor's language."""
    language = i18n.pick_language(request.headers.get("Accept-Language"))
    with i18n.use_language(request.cookies.get("gw_lang") or language or "hr"):
        messages = {
            404: i18n.gettext("There is no such page."),
            405: i18n.gettext("This page does not accept this kind of request."),
            413: i18n.gettext("The upload is too large."),
            500: i18n.gettext("Something went wrong on our side; it has been logged."),
        }
        message = str(messages.get(status, detail))  # a lazy detail in this language
        if request.url.path.startswith("/api/"):
            body = {"error": {"status": status, "message": message, "fields": {}}}
            return JSONResponse(body, status_code=status)
        html = (
            make_templates()
            .get_template("error_plain.html")
            .render(status=status, message=message, language=i18n.current_language())
        )
    return HTMLResponse(html, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = _plain_error(request, exc.status_code, exc.detail)
    # Starlette's own headers: ``Allow`` on a 405 (RFC 9110 requires it).
    response.headers.update(exc.headers or {})
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    response = _plain_error(request, 500, "")
    # Starlette answers this outside every middleware, SecurityHeaders included.
    for name, value in SECURITY_HEADERS:
        response.headers[name.decode()] = value.decode()
    return response


def collect_routes() -> tuple[list[BaseRoute], list[BaseRoute], list[NavItem]]:
    """Routes and navigation of every area (``groupware.wiring``): pages in the order
    of the areas, navigation entries by their ``order``."""
    pages, apis = wiring.current().pages, wiring.current().apis
    routes: list[BaseRoute] = [r for m in pages for r in m.routes]
    api_routes: list[BaseRoute] = [r for api in apis for r in api.routes()]
    nav = sorted((n for m in pages for n in getattr(m, "nav", [])), key=lambda n: n.order)
    return routes, api_routes, nav


def create_app(
    settings: Settings,
    *,
    database: Database | None = None,
    run_jobs: bool = False,
    run_smtp: bool = False,
) -> Starlette:
    """The ASGI app; with ``run_jobs`` it also runs the periodic jobs while it serves,
    with ``run_smtp`` the SMTP listener on the same event loop."""
    from groupware.api import openapi_route
    from groupware.jobs import scheduler

    install()
    gw = Groupware(settings, database)
    routes, api_routes, nav = collect_routes()
    gw.nav = nav
    gw.page_routes = {r.name: r for r in routes if isinstance(r, Route)}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Handlers run in anyio's thread pool; 40 threads (the default) fight over the
        # GIL and SQLite's write lock, a few keep slow requests from blocking the rest.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.web_threads
        # What the process holds once started (mappers, routes, settings, caches) lives
        # as long as it does: move it out of the garbage collector's way. Otherwise every
        # full collection walks all of it with the GIL held, stalling every request in
        # flight; under load that was most of the partner list's p95 (bench/README.md).
        gc.collect()
        gc.freeze()
        task = None
        if run_jobs:
            task = asyncio.create_task(scheduler(gw.database, settings.job_interval_seconds))
        listening = None
        if run_smtp:
            from groupware.mail import smtp

            listening = await smtp.start(gw.database, settings)
        try:
            yield
        finally:
            if listening is not None:
                await listening.close()
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if database is None:
                gw.database.dispose()

    from groupware.caldav import dav

    app = Starlette(
        routes=[
            *dav.routes(settings, gw.database),
            *routes,
            Mount("/api/v1", routes=[*api_routes, openapi_route], name="api"),
            Mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static"),
        ],
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
        lifespan=lifespan,
    )
    app.state.gw = gw
    app.add_middleware(BodyLimit, limit=gw.max_part_size)
    app.add_middleware(RefuseNul)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(AccessLog)  # outermost: it sees every answer, refusals included
    return app
