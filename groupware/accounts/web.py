"""Login, logout, language and the user's own profile (the dashboard is in
:mod:`groupware.accounts.dashboard_web`)."""

from __future__ import annotations

import urllib.parse
from typing import Any, Literal

from pydantic import Field
from starlette.responses import Response
from starlette.routing import Route

from groupware.accounts import auth, credentials, sessions
from groupware.accounts.users import UserUpdate, set_password, update_user
from groupware.errors import Invalid
from groupware.i18n import _, ngettext
from groupware.validation import Schema, validate
from groupware.web import LANGUAGE_COOKIE, SESSION_COOKIE, Ctx, client_address, page


def _safe_next(target: str | None) -> str:
    """Only local paths: ``next`` must not send a user to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@page(login=False)
def login_form(ctx: Ctx) -> Response:
    if ctx.user is not None:
        return ctx.redirect(_safe_next(ctx.query("next")))
    return ctx.render("accounts/login.html", next=_safe_next(ctx.query("next")), error="")


@page(login=False, write=False)
def login_submit(ctx: Ctx) -> Response:
    form = ctx.form_dict()
    username = str(form.get("username", "")).strip()[:254]
    target = _safe_next(str(form.get("next", "")))
    address = client_address(ctx.request, ctx.gw.settings.trusted_proxies)
    # Counted before the password is checked, and committed: parallel tries count one
    # after the other (groupware.accounts.throttle).
    with ctx.gw.database.transaction(actor_id=None, channel="web") as session:
        attempt = auth.begin(session, ctx.gw.settings, username=username, address=address)
    check = auth.check_password(ctx.db, attempt, str(form.get("password", "")))
    if check.retry_after:
        return _login_failed(ctx, target, username, _throttled(check.retry_after), 429,
                             str(check.retry_after))  # fmt: skip
    # The outcome is written in a short transaction of its own: the password check took
    # a while (no write lock held meanwhile), and a failure counts though this fails.
    token = None
    with ctx.gw.database.transaction(actor_id=check.user_id, channel="web") as session:
        user = auth.record(session, check)
        if user is not None:
            if ctx.web_session is not None:
                sessions.end_session(session, ctx.request.cookies.get(SESSION_COOKIE))
            user_agent = ctx.request.headers.get("User-Agent", "")
            token, _row = sessions.start_session(
                session, user, address=address, user_agent=user_agent
            )
    if token is None:
        return _login_failed(ctx, target, username, _("Wrong username or password."), 401)
    ctx.cookies.append((SESSION_COOKIE, token, None))
    return ctx.redirect(target)


def _throttled(seconds: int) -> str:
    if seconds < 60:
        return ngettext(
            "Too many failed logins. Try again in %(num)d second.",
            "Too many failed logins. Try again in %(num)d seconds.",
            seconds,
        )
    minutes = (seconds + 59) // 60
    return ngettext(
        "Too many failed logins. Try again in %(num)d minute.",
        "Too many failed logins. Try again in %(num)d minutes.",
        minutes,
    )


def _login_failed(
    ctx: Ctx, target: str, username: str, error: str, status: int, retry: str | None = None
) -> Response:
    headers = {"Retry-After": retry} if retry else None
    return ctx.render(
        "accounts/login.html",
        next=target,
        error=error,
        username=username,
        status_code=status,
        headers=headers,
    )


@page(login=False)
def logout(ctx: Ctx) -> Response:
    sessions.end_session(ctx.db, ctx.request.cookies.get(SESSION_COOKIE))
    ctx.cookies.append((SESSION_COOKIE, "", 0))
    return ctx.redirect("/login")


class LanguageIn(Schema):
    language: Literal["hr", "en"]
    next: str = ""


@page(login=False)
def set_language(ctx: Ctx) -> Response:
    data = validate(LanguageIn, ctx.form_dict())
    if ctx.user is not None:
        ctx.user.language = data.language
    ctx.cookies.append((LANGUAGE_COOKIE, data.language, 365 * 24 * 3600))
    target = data.next or urllib.parse.urlsplit(ctx.request.headers.get("Referer", "")).path
    return ctx.redirect(_safe_next(target))


# -- profile ----------------------------------------------------------------------


class ProfileIn(Schema):
    full_name: str = Field(min_length=1, max_length=200)
    language: Literal["hr", "en"]


class PasswordIn(Schema):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)
    confirm_password: str = Field(min_length=1, max_length=256)


def _profile(ctx: Ctx, *, status_code: int = 200, **extra: Any) -> Response:
    values: dict[str, Any] = {
        "errors": {},
        "password_errors": {},
        "credential_errors": {},
        "new_secret": None,
        "form": {"full_name": ctx.me.full_name, "language": ctx.me.language},
        "tokens": credentials.list_credentials(ctx.db, ctx.me.id, "api_token"),
        "app_passwords": credentials.list_credentials(ctx.db, ctx.me.id, "app_password"),
        "sessions": sessions.list_sessions(ctx.db, ctx.me.id),
        "current_session": ctx.web_session.id if ctx.web_session else "",
    }
    values.update(extra)
    return ctx.render("accounts/profile.html", status_code=status_code, **values)


@page()
def profile(ctx: Ctx) -> Response:
    return _profile(ctx)


@page()
def profile_save(ctx: Ctx) -> Response:
    form = ctx.form_dict()
    try:
        data = validate(ProfileIn, form)
    except Invalid as exc:
        return _profile(ctx, status_code=422, errors=exc.errors, form=form)
    update_user(
        ctx.db,
        ctx.me,
        UserUpdate(full_name=data.full_name, language=data.language),
        mail_domain=ctx.gw.settings.mail_domain,
    )
    ctx.cookies.append((LANGUAGE_COOKIE, data.language, 365 * 24 * 3600))
    ctx.flash(_("Your profile is saved."))
    return ctx.redirect(ctx.url("profile"))


@page(write=False)
def password_save(ctx: Ctx) -> Response:
    try:
        data = validate(PasswordIn, ctx.form_dict())
        if data.new_password != data.confirm_password:
            raise Invalid({"confirm_password": _("The two new passwords differ.")})
        # Throttled like a login: whoever holds a session must not learn the password
        # (for SMTP and CalDAV too) by guessing here.
        address = client_address(ctx.request, ctx.gw.settings.trusted_proxies)
        with ctx.gw.database.transaction(actor_id=ctx.me.id, channel="web") as session:
            attempt = auth.begin(
                session, ctx.gw.settings, username=ctx.me.username, address=address
            )
        check = auth.check_password(ctx.db, attempt, data.current_password)
        if check.retry_after:
            raise Invalid({"current_password": _throttled(check.retry_after)})
        if not check.ok:
            raise Invalid({"current_password": _("This is not your current password.")})
        keep = ctx.web_session.id if ctx.web_session else None
        # Verifying took a while; the change is a short write transaction of its own.
        with ctx.gw.database.transaction(actor_id=ctx.me.id, channel="web") as session:
            me = auth.record(session, check)
            assert me is not None
            set_password(session, me, data.new_password, keep_session=keep)
    except Invalid as exc:
        return _profile(ctx, status_code=422, password_errors=exc.errors)
    ctx.flash(_("Your password is changed; your other sessions are logged out."))
    return ctx.redirect(ctx.url("profile"))


class NewCredentialIn(credentials.CredentialIn):
    kind: Literal["api_token", "app_password"]


@page()
def credential_create(ctx: Ctx) -> Response:
    try:
        data = validate(NewCredentialIn, ctx.form_dict())
    except Invalid as exc:
        return _profile(ctx, status_code=422, credential_errors=exc.errors)
    secret, row = credentials.create_credential(ctx.db, ctx.me, kind=data.kind, name=data.name)
    # Shown once, on this response only (it is never stored in clear).
    return _profile(ctx, status_code=201, new_secret=(row, secret))


@page()
def credential_revoke(ctx: Ctx) -> Response:
    row = credentials.revoke(ctx.db, ctx.me.id, ctx.int_param("credential_id"))
    ctx.flash(_("“%(name)s” is revoked.", name=row.name))
    return ctx.redirect(ctx.url("profile"))


@page()
def sessions_end_others(ctx: Ctx) -> Response:
    keep = ctx.web_session.id if ctx.web_session else None
    sessions.end_all_sessions(ctx.db, ctx.me.id, keep=keep)
    ctx.flash(_("Your other sessions are logged out."))
    return ctx.redirect(ctx.url("profile"))


routes = [
    Route("/login", login_form, name="login"),
    Route("/login", login_submit, methods=["POST"], name="login_submit"),
    Route("/logout", logout, methods=["POST"], name="logout"),
    Route("/language", set_language, methods=["POST"], name="set_language"),
    Route("/profile", profile, name="profile"),
    Route("/profile", profile_save, methods=["POST"], name="profile_save"),
    Route("/profile/password", password_save, methods=["POST"], name="password_save"),
    Route("/profile/credentials", credential_create, methods=["POST"], name="credential_create"),
    Route(
        "/profile/credentials/{credential_id:int}/revoke",
        credential_revoke,
        methods=["POST"],
        name="credential_revoke",
    ),
    Route(
        "/profile/sessions/end-others",
        sessions_end_others,
        methods=["POST"],
        name="sessions_end_others",
    ),
]
