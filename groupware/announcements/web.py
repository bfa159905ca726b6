"""Announcement pages: list, detail, write, publish, delete."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import can
from groupware.accounts.teams import list_teams
from groupware.announcements import service
from groupware.announcements.models import Announcement
from groupware.errors import Invalid
from groupware.i18n import _, _l
from groupware.validation import validate
from groupware.web import Ctx, NavItem, page

nav = [
    NavItem(
        _l("Announcements"), "announcements", module="announcements", order=110, icon="megaphone"
    )
]
PAGE_SIZE = 50


@page()
def announcements(ctx: Ctx) -> Response:
    offset = min(ctx.query_id("offset") or 0, 1_000_000)
    status = ctx.query("status")
    rows = service.list_announcements(
        ctx.db,
        ctx.acting,
        q=ctx.query("q"),
        status=status if status in ("draft", "published") else None,
        mine=ctx.query("mine") == "1",
        offset=offset,
        limit=PAGE_SIZE + 1,
    )
    return ctx.render(
        "announcements/list.html",
        block="results",
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        offset=offset,
        page_size=PAGE_SIZE,
        may_create=ctx.acting.can("announcements", "create"),
    )


def _form(
    ctx: Ctx,
    row: Announcement | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    teams = [team for team, _n in list_teams(ctx.db)]
    if not ctx.acting.is_admin:
        teams = [team for team in teams if team.id in ctx.acting.team_ids]
    return ctx.render(
        "announcements/form.html",
        row=row,
        form=form,
        errors=errors,
        team_options=[(team.id, team.name) for team in teams],
        status_code=status,
    )


def _values(row: Announcement) -> dict[str, Any]:
    return {
        "title": row.title,
        "body": row.body,
        "audience": row.audience,
        "team_id": row.team_id or "",
        "pinned": row.pinned,
        "expires_on": row.expires_on.isoformat() if row.expires_on else "",
    }


@page()
def announcement_new(ctx: Ctx) -> Response:
    return _form(ctx, None, {"audience": "company"}, {})


@page()
def announcement_create(ctx: Ctx) -> Response:
    form = ctx.form_dict(checkboxes=("pinned",))
    publish = form.pop("publish", None) is not None
    try:
        row = service.create_announcement(
            ctx.db, ctx.acting, validate(service.AnnouncementIn, form)
        )
        if publish:
            service.publish(ctx.db, row)
    except Invalid as exc:
        return _form(ctx, None, form, exc.errors, 422)
    ctx.flash(_("The announcement is published.") if publish else _("The draft is saved."))
    return ctx.redirect(ctx.url("announcement", announcement_id=row.id))


@page()
def announcement(ctx: Ctx) -> Response:
    row = service.get_announcement_for_user(ctx.db, ctx.acting, ctx.int_param("announcement_id"))
    return ctx.render(
        "announcements/detail.html",
        row=row,
        may_edit=can(ctx.db, ctx.acting, row, "edit"),
        may_delete=can(ctx.db, ctx.acting, row, "delete"),
    )


@page()
def announcement_edit(ctx: Ctx) -> Response:
    row = service.get_announcement_for_user(
        ctx.db, ctx.acting, ctx.int_param("announcement_id"), "edit"
    )
    return _form(ctx, row, _values(row), {})


@page()
def announcement_save(ctx: Ctx) -> Response:
    row = service.get_announcement_for_user(
        ctx.db, ctx.acting, ctx.int_param("announcement_id"), "edit"
    )
    form = ctx.form_dict(checkboxes=("pinned",))
    publish = form.pop("publish", None) is not None
    try:
        service.update_announcement(ctx.db, ctx.acting, row, validate(service.AnnouncementIn, form))
        if publish and row.status != "published":
            service.publish(ctx.db, row)
    except Invalid as exc:
        return _form(ctx, row, form, exc.errors, 422)
    ctx.flash(_("The announcement is saved."))
    return ctx.redirect(ctx.url("announcement", announcement_id=row.id))


@page()
def announcement_publish(ctx: Ctx) -> Response:
    row = service.get_announcement_for_user(
        ctx.db, ctx.acting, ctx.int_param("announcement_id"), "edit"
    )
    published = ctx.form_dict().get("published") != "0"
    service.publish(ctx.db, row, published=published)
    ctx.flash(
        _("The announcement is published.") if published else _("The announcement is withdrawn.")
    )
    return ctx.redirect(ctx.url("announcement", announcement_id=row.id))


@page()
def announcement_delete(ctx: Ctx) -> Response:
    row = service.get_announcement_for_user(
        ctx.db, ctx.acting, ctx.int_param("announcement_id"), "delete"
    )
    service.delete_announcement(ctx.db, row)
    ctx.flash(_("The announcement is deleted."))
    return ctx.redirect(ctx.url("announcements"))


routes = [
    Route("/announcements", announcements, name="announcements"),
    Route("/announcements/new", announcement_new, name="announcement_new"),
    Route("/announcements/new", announcement_create, methods=["POST"], name="announcement_create"),
    Route("/announcements/{announcement_id:int}", announcement, name="announcement"),
    Route("/announcements/{announcement_id:int}/edit", announcement_edit, name="announcement_edit"),
    Route(
        "/announcements/{announcement_id:int}/edit",
        announcement_save,
        methods=["POST"],
        name="announcement_save",
    ),
    Route(
        "/announcements/{announcement_id:int}/publish",
        announcement_publish,
        methods=["POST"],
        name="announcement_publish",
    ),
    Route(
        "/announcements/{announcement_id:int}/delete",
        announcement_delete,
        methods=["POST"],
        name="announcement_delete",
    ),
]
