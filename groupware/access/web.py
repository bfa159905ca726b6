"""Panels every record page has: sharing, "why can I see this" and history.

They work for any model with access rules, addressed as
``/records/<record type>/<id>/...``; a record page loads them with htmx, and each is
also a page of its own when opened without htmx.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from groupware.access import shares
from groupware.access.policy import (
    can,
    explain,
    get_for_user,
    may_share,
    record_models,
    require_share,
)
from groupware.accounts.teams import list_teams
from groupware.accounts.users import list_users
from groupware.db import Base
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.history.display import describe
from groupware.history.service import record_changes
from groupware.i18n import _, _l
from groupware.validation import parse_id
from groupware.web import Ctx, page


def _record(ctx: Ctx) -> Base:
    model = record_models().get(ctx.param("record_type"))
    if model is None:
        raise NotFound(_l("There is no such record, or you may not see it."))
    return get_for_user(ctx.db, ctx.acting, model, ctx.int_param("record_id"))


def _shareable(ctx: Ctx) -> Base:
    record = _record(ctx)
    require_share(ctx.db, ctx.acting, record)
    return record


def _access_panel(
    ctx: Ctx, record: Base, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    sharer = may_share(ctx.db, ctx.acting, record)
    return ctx.render(
        "access/panel.html",
        block="panel",
        record=record,
        record_type=ctx.param("record_type"),
        reasons=explain(ctx.db, ctx.acting, record),
        shares=shares.list_shares(ctx.db, record),
        may_share=sharer,
        users=list_users(ctx.db, active=True, limit=1000) if sharer else [],
        teams=[team for team, _n in list_teams(ctx.db)] if sharer else [],
        errors=errors or {},
        status_code=status,
    )


@page()
def access_panel(ctx: Ctx) -> Response:
    return _access_panel(ctx, _record(ctx))


@page()
def share_add(ctx: Ctx) -> Response:
    record = _shareable(ctx)
    form = ctx.form_dict()
    grantee = str(form.get("grantee", ""))
    kind, _sep, ident = grantee.partition(":")
    try:
        grantee_id = parse_id(ident)
        if kind not in ("user", "team") or grantee_id is None:
            raise Invalid({"grantee": _("Choose a user or a team.")})
        shares.share(
            ctx.db,
            record,
            by_user_id=ctx.me.id,
            user_id=grantee_id if kind == "user" else None,
            team_id=grantee_id if kind == "team" else None,
            permission=str(form.get("permission", "read")),
        )
    except Invalid as exc:
        return _access_panel(ctx, record, errors=exc.errors, status=422)
    ctx.flash(_("The record is shared."))
    return (
        _access_panel(ctx, record)
        if ctx.wants_fragment
        else ctx.redirect(ctx.request.url.path.rsplit("/", 1)[0] + "/access")
    )


@page()
def share_remove(ctx: Ctx) -> Response:
    record = _shareable(ctx)
    try:
        shares.unshare(ctx.db, record, ctx.int_param("share_id"))
    except Invalid as exc:
        return _access_panel(ctx, record, errors=exc.errors, status=422)
    base = f"/records/{ctx.param('record_type')}/{ctx.int_param('record_id')}/access"
    return _access_panel(ctx, record) if ctx.wants_fragment else ctx.redirect(base)


@page()
def history_panel(ctx: Ctx) -> Response:
    record = _record(ctx)
    if not can(ctx.db, ctx.acting, record, "view", public=False):
        raise Forbidden(_l("The history of this record is for those who work on it."))
    changes = record_changes(ctx.db, ctx.param("record_type"), ctx.int_param("record_id"))
    return ctx.render(
        "access/history.html",
        block="panel",
        record=record,
        record_type=ctx.param("record_type"),
        changes=describe(ctx.db, ctx.acting, changes),
    )


routes = [
    Route("/records/{record_type}/{record_id:int}/access", access_panel, name="record_access"),
    Route(
        "/records/{record_type}/{record_id:int}/shares",
        share_add,
        methods=["POST"],
        name="record_share_add",
    ),
    Route(
        "/records/{record_type}/{record_id:int}/shares/{share_id:int}/remove",
        share_remove,
        methods=["POST"],
        name="record_share_remove",
    ),
    Route("/records/{record_type}/{record_id:int}/history", history_panel, name="record_history"),
]
