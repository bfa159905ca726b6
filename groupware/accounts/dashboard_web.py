"""The dashboard page: the widgets the areas declare (:mod:`groupware.dashboard`) with
the figures of the scope the user chose, in the order and with the widgets they chose
(:mod:`groupware.accounts.dashboard`). Moving, hiding and showing widgets are plain
forms that htmx sends in the background when it can."""

from __future__ import annotations

import datetime as dt
import urllib.parse

from starlette.responses import Response
from starlette.routing import Route

from groupware import wiring
from groupware.accounts import dashboard as layout
from groupware.dashboard import Scope, Widget, WidgetArgs, default_scope, pick_scope, scopes_for
from groupware.errors import Invalid
from groupware.i18n import _, _l, today
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("Dashboard"), "dashboard", order=10, icon="layout-dashboard")]


def _offered(ctx: Ctx) -> list[Widget]:
    return [w for w in wiring.current().dashboard_widgets if w.offered_to(ctx.acting)]


def _scope(ctx: Ctx, key: str) -> tuple[Scope, list[Scope]]:
    scopes = scopes_for(ctx.db, ctx.acting)
    scope = pick_scope(scopes, key)
    if scope is None:
        ctx.flash(_("Those figures are not among yours; here are the ones you see."), "error")
        scope = default_scope(scopes)
    return scope, scopes


def _render(
    ctx: Ctx, key: str, *, errors: dict[str, str] | None = None, status_code: int = 200
) -> Response:
    scope, scopes = _scope(ctx, key)
    placed = layout.arrange(ctx.db, ctx.me.id, _offered(ctx))
    args = WidgetArgs(ctx.db, ctx.acting, scope, today(), dt.datetime.now(dt.UTC))
    shown = [(p.widget, p.widget.figures(args)) for p in placed if not p.hidden]
    return ctx.render(
        "dashboard.html",
        block="board",
        status_code=status_code,
        scope=scope,
        scopes=scopes,
        placed=placed,
        shown=shown,
        scoped=any(widget.scoped for widget, _data in shown),
        errors=errors or {},
    )


@page()
def dashboard(ctx: Ctx) -> Response:
    return _render(ctx, ctx.query("scope"))


def _changed(ctx: Ctx, key: str) -> Response:
    """After a change of the layout: htmx gets the dashboard anew, a plain form the
    address of the dashboard with the scope it showed."""
    if ctx.wants_fragment:
        return _render(ctx, key)
    query = "?" + urllib.parse.urlencode({"scope": key}) if key else ""
    return ctx.redirect(ctx.url("dashboard") + query)


@page()
def dashboard_widget(ctx: Ctx) -> Response:
    """Move a widget up or down, hide it or show it again."""
    form = ctx.form_dict()
    how = str(form.get("move", ""))
    if how not in layout.MOVES:
        raise Invalid({"move": _l("Choose whether to move the widget up or down, or hide it.")})
    widget = ctx.param("widget")
    layout.move(ctx.db, ctx.me.id, _offered(ctx), widget, how)
    return _changed(ctx, str(form.get("scope", ""))[:40])


def _positions(form: dict[str, object]) -> dict[str, int]:
    positions = {}
    for name, value in form.items():
        if name.startswith("position-"):
            text = str(value).strip()
            if not text.isdecimal() or len(text) > 4:
                raise Invalid({"position": _l("A position is a whole number.")})
            positions[name.removeprefix("position-")] = int(text)
    return positions


@page()
def dashboard_layout(ctx: Ctx) -> Response:
    """The customising form: which widgets to show and in what order, or the default."""
    form = ctx.form_dict(lists=("shown",))
    key = str(form.get("scope", ""))[:40]
    if form.get("reset"):
        layout.reset(ctx.db, ctx.me.id)
        return _changed(ctx, key)
    try:
        positions = _positions(form)
        layout.set_layout(ctx.db, ctx.me.id, _offered(ctx), positions, map(str, form["shown"]))
    except Invalid as exc:
        return _render(ctx, key, errors=exc.errors, status_code=422)
    return _changed(ctx, key)


routes = [
    Route("/", dashboard, name="dashboard"),
    Route("/dashboard/layout", dashboard_layout, methods=["POST"], name="dashboard_layout"),
    Route(
        "/dashboard/widgets/{widget}", dashboard_widget, methods=["POST"], name="dashboard_widget"
    ),
]
