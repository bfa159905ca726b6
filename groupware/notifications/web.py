"""The notifications page and the bell."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from groupware.i18n import _
from groupware.notifications import service
from groupware.web import Ctx, page


@page()
def notifications(ctx: Ctx) -> Response:
    rows = service.list_for(
        ctx.db,
        ctx.me.id,
        unread_only=ctx.query("unread") == "1",
        before_id=ctx.query_id("before"),
        limit=51,
    )
    return ctx.render(
        "notifications/list.html",
        notifications=rows[:50],
        more=len(rows) > 50,
        unread_only=ctx.query("unread") == "1",
    )


@page()
def bell(ctx: Ctx) -> Response:
    """The bell alone, polled by the shell so the count stays current."""
    return ctx.render("base.html", block="bell", shell=ctx.gw.shell(ctx))


@page()
def open_notification(ctx: Ctx) -> Response:
    row = service.mark_read(ctx.db, ctx.me.id, ctx.int_param("notification_id"))
    local = row.link.startswith("/") and not row.link.startswith("//")
    return ctx.redirect(row.link if local else ctx.url("notifications"))


@page()
def read_all(ctx: Ctx) -> Response:
    count = service.mark_all_read(ctx.db, ctx.me.id)
    if count:
        ctx.flash(_("All notifications are marked read."))
    return ctx.redirect(ctx.url("notifications"))


routes = [
    Route("/notifications", notifications, name="notifications"),
    Route("/notifications/bell", bell, name="notifications_bell"),
    Route(
        "/notifications/{notification_id:int}/open",
        open_notification,
        methods=["POST"],
        name="notification_open",
    ),
    Route("/notifications/read-all", read_all, methods=["POST"], name="notifications_read_all"),
]
