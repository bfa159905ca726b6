"""What every web page handler stands on: the ``page`` wrapper and its ``Ctx``.

A handler is a plain function ``def handler(ctx: Ctx) -> Response``. The :func:`page`
wrapper reads the form, opens one database session and transaction, resumes the
login session, checks CSRF on unsafe requests, sets the language, calls the handler and
commits (or rolls back when the handler fails or answers 4xx). Errors from services
(:mod:`groupware.errors`) become error pages; a failed validation re-renders whatever
the handler chose.

HTML comes from Jinja2 templates with autoescaping; an htmx request may ask for one
block of a page (jinja2-fragments), so a fragment and its full page never drift apart.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jinja2_fragments import render_block
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from groupware.access.policy import Who, load_who
from groupware.accounts import sessions as web_sessions
from groupware.accounts.models import User, WebSession
from groupware.db import bind_actor
from groupware.errors import (
    CONFLICT_MESSAGE,
    Conflict,
    Forbidden,
    GroupwareError,
    Invalid,
    NotFound,
)
from groupware.i18n import _, current_language, pick_language, use_language
from groupware.requestlog import note_user
from groupware.validation import MAX_ID, parse_id

if TYPE_CHECKING:
    from groupware.app import Groupware

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class NavItem:
    """An entry of the main navigation, shown to users who may ``action`` in ``module``."""

    label: Any
    endpoint: str
    module: str | None = None
    action: str = "view"
    admin: bool = False
    # What waits there for the user (unread mail): ``badge(session, user_id)``.
    badge: Callable[[Session, int], int] | None = None
    # Where it stands in the navigation (entries of every area, in this order).
    order: int = 100
    # Its picture: the name of an icon of web/static/icons/icons.svg (tools/icons.py).
    icon: str = ""


@dataclass(frozen=True)
class QuickCreate:
    """An entry of the header's "+" menu: the page that creates a record, shown to
    users who may ``action`` in ``module`` (areas declare them: ``Area.quick_create``)."""

    label: Any
    endpoint: str
    module: str | None = None
    action: str = "create"
    order: int = 100


SESSION_COOKIE = "gw_session"
ANON_COOKIE = "gw_anon"
LANGUAGE_COOKIE = "gw_lang"
FLASH_COOKIE = "gw_flash"

Handler = Callable[["Ctx"], Response]


@dataclass
class Ctx:
    """Everything a page handler needs for one request."""

    request: Request
    gw: Groupware
    db: Session
    form: FormData | None = None
    user: User | None = None
    who: Who | None = None
    web_session: WebSession | None = None
    csrf_token: str = ""
    # Writes that must not share the request's transaction (see ``page``).
    after: list[Callable[[Session], None]] = field(default_factory=list)
    cookies: list[tuple[str, str, int | None]] = field(default_factory=list)
    flashes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_htmx(self) -> bool:
        return self.request.headers.get("HX-Request") == "true"

    @property
    def _boosted_get(self) -> bool:
        return self.request.method == "GET" and self.request.headers.get("HX-Boosted") == "true"

    @property
    def wants_fragment(self) -> bool:
        """An htmx request for part of a page; a boosted link or form (htmx swapping in
        a whole page) and a history restore get the whole page."""
        headers = self.request.headers
        return (
            headers.get("HX-Request") == "true"
            and headers.get("HX-Boosted") != "true"
            # htmx restoring a page from history (back/forward) wants the whole page
            and headers.get("HX-History-Restore-Request") != "true"
        )

    @property
    def me(self) -> User:
        if self.user is None:
            raise RuntimeError("page needs a logged-in user")
        return self.user

    @property
    def acting(self) -> Who:
        if self.who is None:
            raise RuntimeError("page needs a logged-in user")
        return self.who

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def int_param(self, name: str) -> int:
        """A record id from the path; one too large for any record is a 404."""
        value = int(self.request.path_params[name])
        if value > MAX_ID:
            raise NotFound(_("There is no such record, or you may not see it."))
        return value

    def query_id(self, name: str) -> int | None:
        return parse_id(self.request.query_params.get(name))

    def query(self, name: str, default: str = "") -> str:
        return self.request.query_params.get(name, default).strip()

    def form_dict(
        self, *, lists: tuple[str, ...] = (), checkboxes: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """The submitted form as a dict, without the CSRF token; ``lists`` are
        multi-valued fields, ``checkboxes`` are booleans that are absent when off."""
        form = self.form or FormData()
        data: dict[str, Any] = {
            k: v for k, v in form.items() if k != "csrf_token" and k not in lists
        }
        for name in lists:
            data[name] = [v for v in form.getlist(name) if str(v).strip()]
        for name in checkboxes:
            data[name] = name in form
        return data

    def flash(self, message: str, level: str = "success") -> None:
        self.flashes.append((level, message))

    def url(self, name: str, **params: Any) -> str:
        """The path of the route called ``name`` with ``params`` (a page's route found
        by name at once: a template builds dozens of these per list page, and asking
        the router tries every route in turn)."""
        route = self.gw.page_routes.get(name)
        if route is None:
            return str(self.request.url_for(name, **params).path)
        return str(self.request.scope.get("root_path", "")) + route.url_path_for(name, **params)

    def render(
        self,
        template: str,
        *,
        block: str | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        """Render a page; with ``block``, only that block when htmx asks for it."""
        if headers and "Content-Security-Policy" in headers and self._boosted_get:
            # A page with a policy of its own (a mail with its styles) swapped into
            # another page would live under that page's policy: the browser refuses
            # what the page needs. Have htmx load it as a document of its own.
            url = self.request.url
            here = url.path + (f"?{url.query}" if url.query else "")
            return HTMLResponse("", status_code=204, headers={"HX-Redirect": here})
        partial = block is not None and self.wants_fragment
        values = self._template_context(context, full=not partial)
        env = self.gw.templates
        if partial and block is not None:
            html = render_block(env, template, block, values)
        else:
            html = env.get_template(template).render(values)
        return HTMLResponse(html, status_code=status_code, headers=headers)

    def _template_context(self, context: Mapping[str, Any], *, full: bool) -> dict[str, Any]:
        values: dict[str, Any] = {
            "ctx": self,
            "user": self.user,
            "who": self.who,
            "csrf_token": self.csrf_token,
            "language": current_language(),
            "settings": self.gw.settings,
        }
        if full:
            values["shell"] = self.gw.shell(self) if self.user else None
            values["flashes"] = self._pending_flashes()
        values.update(context)
        return values

    def _pending_flashes(self) -> list[tuple[str, str]]:
        pending = list(self.flashes)
        raw = self.request.cookies.get(FLASH_COOKIE)
        if raw:
            pending = _unsign_flashes(self.gw.secret_key, raw) + pending
            self.cookies.append((FLASH_COOKIE, "", 0))
        self.flashes = []
        return pending

    def redirect(self, url: str) -> Response:
        """See Other after a successful POST; htmx follows it as a full page load."""
        if self.wants_fragment:
            response: Response = Response(status_code=204, headers={"HX-Location": url})
        else:
            response = RedirectResponse(url, status_code=303)
        if self.flashes:
            self.cookies.append((FLASH_COOKIE, _sign_flashes(self.gw.secret_key, self.flashes), 60))
            self.flashes = []
        return response


def acted(
    ctx: Ctx,
    act: Callable[[], object],
    message: str,
    url: str,
    refused: Callable[[dict[str, str]], Response],
) -> Response:
    """Run one change of a record from its page: done, say so and go back to ``url``;
    refused (:class:`Invalid`), show what ``refused`` renders with the reasons."""
    try:
        act()
    except Invalid as exc:
        return refused(exc.errors)
    ctx.flash(message)
    return ctx.redirect(url)


def _sign(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def _sign_flashes(key: str, flashes: list[tuple[str, str]]) -> str:
    payload = json.dumps(flashes[-5:], ensure_ascii=False)
    return urllib.parse.quote(f"{_sign(key, payload)}.{payload}")


def _unsign_flashes(key: str, raw: str) -> list[tuple[str, str]]:
    signature, _sep, payload = urllib.parse.unquote(raw).partition(".")
    if not hmac.compare_digest(signature.encode(), _sign(key, payload).encode()):
        return []
    try:
        return [(str(level), str(text)) for level, text in json.loads(payload)]
    except (ValueError, TypeError):
        return []


def anon_csrf_token(key: str, anon: str) -> str:
    return _sign(key, "anon:" + anon)


def client_address(request: Request, trusted_proxies: tuple[str, ...]) -> str:
    """The client's IP; behind a trusted proxy, the last untrusted X-Forwarded-For hop."""
    peer = request.client.host if request.client else ""
    if not trusted_proxies or not peer:
        return peer
    networks = [ipaddress.ip_network(n, strict=False) for n in trusted_proxies]

    def trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if not trusted(peer):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not trusted(hop):
            return hop
    return peer


def _same_origin(request: Request, base_url: str) -> bool:
    """False for a request a browser says came from another site. Behind a proxy that
    rewrites ``Host``, the public origin is the one of ``GROUPWARE_BASE_URL``."""
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin == "null":
        return False
    netloc = urllib.parse.urlsplit(origin).netloc
    public = urllib.parse.urlsplit(base_url).netloc if base_url else ""
    return netloc in {request.headers.get("Host", ""), public} - {""}


class CsrfFailed(GroupwareError):
    status_code = 403


def _check_csrf(ctx: Ctx) -> None:
    request = ctx.request
    if not _same_origin(request, ctx.gw.settings.base_url):
        raise CsrfFailed(_("This request came from another site and was refused."))
    sent = request.headers.get("X-CSRF-Token") or (
        str(ctx.form.get("csrf_token", "")) if ctx.form is not None else ""
    )
    expected = ctx.csrf_token.encode()
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected):
        raise CsrfFailed(
            _("The form has expired or was not sent from this site. Reload the page and try again.")
        )


def _language_for(ctx: Ctx) -> str:
    if ctx.user is not None:
        return ctx.user.language
    cookie = ctx.request.cookies.get(LANGUAGE_COOKIE)
    if cookie in ("hr", "en"):
        return cookie
    return (
        pick_language(ctx.request.headers.get("Accept-Language"))
        or ctx.gw.settings.default_language
    )


def _resume(ctx: Ctx) -> None:
    """Log the request in from its session cookie, if it has a live one."""
    gw = ctx.gw
    token = ctx.request.cookies.get(SESSION_COOKIE)
    row, maintenance = web_sessions.resume_session(ctx.db, gw.settings, token)
    if maintenance is not None:
        ctx.after.append(maintenance)
    if row is None:
        if token:
            ctx.cookies.append((SESSION_COOKIE, "", 0))
        anon = ctx.request.cookies.get(ANON_COOKIE) or ""
        if len(anon) < 20:
            anon = secrets.token_urlsafe(24)
            ctx.cookies.append((ANON_COOKIE, anon, None))
        ctx.csrf_token = anon_csrf_token(gw.secret_key, anon)
        return
    ctx.web_session = row
    ctx.user = row.user
    ctx.who = load_who(ctx.db, row.user)
    ctx.csrf_token = row.csrf_token


def login_redirect(ctx: Ctx) -> Response:
    target = ctx.request.url.path
    if ctx.request.url.query:
        target += "?" + ctx.request.url.query
    url = "/login?" + urllib.parse.urlencode({"next": target})
    if ctx.is_htmx:
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def error_response(ctx: Ctx, exc: GroupwareError) -> Response:
    message = str(exc.message) or _("Something went wrong.")
    errors = exc.errors if isinstance(exc, Invalid) else {}
    return ctx.render(
        "error.html", status_code=exc.status_code, message=message, errors=errors, block="content"
    )


def page(
    *, login: bool = True, admin: bool = False, write: bool | None = None
) -> Callable[[Handler], Callable[[Request], Any]]:
    """Make a Starlette endpoint of a page handler (see the module docstring).

    ``write`` says whether the request's transaction writes; by default unsafe methods
    do. A handler that spends long on a check before it writes (a password) reads in
    the request's transaction and writes in a short one of its own instead.
    """

    def decorate(handler: Handler) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            gw: Groupware = request.app.state.gw
            unsafe = request.method in UNSAFE_METHODS
            form = await request.form(max_part_size=gw.max_part_size) if unsafe else None

            def run(db: Session) -> Response:
                ctx = Ctx(request=request, gw=gw, db=db, form=form)
                response = _run_handler(ctx, handler, login=login, admin=admin, unsafe=unsafe)
                gw.finish(ctx, response)
                return response

            try:
                return await gw.db_run(run, write=unsafe if write is None else write)
            finally:
                if form is not None:
                    await form.close()

        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint

    return decorate


def _run_handler(ctx: Ctx, handler: Handler, *, login: bool, admin: bool, unsafe: bool) -> Response:
    db = ctx.db
    with db.begin() as transaction:
        _resume(ctx)
        note_user(ctx.request.scope, ctx.user.id if ctx.user else None)
        bind_actor(db, actor_id=ctx.user.id if ctx.user else None, channel="web")
        with use_language(_language_for(ctx), ctx.gw.settings.timezone):
            try:
                if login and ctx.user is None:
                    return login_redirect(ctx)
                if unsafe:
                    _check_csrf(ctx)
                if admin and not ctx.acting.is_admin:
                    raise Forbidden(_("This page is for administrators."))
                response = handler(ctx)
            except GroupwareError as exc:
                response = error_response(ctx, exc)
            except IntegrityError:
                # Two requests raced to create the same thing; the database kept one.
                transaction.rollback()
                return error_response(ctx, Conflict(CONFLICT_MESSAGE))
            if response.status_code >= 400:
                # Nothing of a refused or failed request is kept.
                transaction.rollback()
            return response
