"""What every shaped list shares on the web: :func:`listing` (the page's rows, totals,
views and menus, for the area's list handler) and the handlers of saved views, bulk
actions, their undo and the CSV export, under ``/lists/{list_name}/``."""

from __future__ import annotations

import datetime as dt
import tempfile
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from groupware import wiring
from groupware.access.policy import require
from groupware.errors import Forbidden, Invalid, NotFound
from groupware.i18n import _, _l, ngettext, today
from groupware.lists import bulk, engine, export, views
from groupware.lists.declare import BulkAction, Column, ListDef
from groupware.lists.models import BulkChange, SavedView
from groupware.lists.shape import Shape, read
from groupware.validation import parse_id
from groupware.web import Ctx, page

SPOOL_BYTES = 4 * 1024 * 1024  # an export larger than this goes to a temporary file


@dataclass(frozen=True)
class Narrowed:
    """A filter the page's form does not offer, applied: what it reads as and the
    list's address without it."""

    name: str
    text: str
    drop: str


@dataclass
class Listing:
    """A shaped list, ready for the ``lists/_list.html`` macros."""

    listdef: ListDef
    shape: Shape
    path: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    more: bool = False
    totals: dict[str, list[tuple[str, Any]]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    views: list[SavedView] = field(default_factory=list)
    teams: list[tuple[int, str]] = field(default_factory=list)
    actions: list[BulkAction] = field(default_factory=list)
    change: BulkChange | None = None
    may_export: bool = False
    details: Mapping[int, Any] = field(default_factory=dict)
    narrowed: list[Narrowed] = field(default_factory=list)

    def url(self, query: str) -> str:
        return f"{self.path}?{query}" if query else self.path

    def link(self, **changes: Any) -> str:
        """This list's address with ``changes`` to its shape (``sort``, ``offset``)."""
        return self.url(self.shape.query(**changes))

    def filtered(self, **changes: str) -> str:
        """This list's address with ``changes`` to its filters (a tab of the tasks)."""
        filters = {k: v for k, v in {**self.shape.filters, **changes}.items() if v}
        return self.url(self.shape.query(filters=filters, offset=0))

    def sort_url(self, key: str) -> str:
        return self.url(self.shape.sort_link(key))

    @property
    def here(self) -> str:
        return self.link()

    @property
    def query(self) -> str:
        """The shape's query string without its page: what a view keeps."""
        return self.shape.query(offset=0)

    @property
    def choosable(self) -> list[Column]:
        """Every column for the column chooser: the chosen ones in their order first."""
        chosen = set(self.shape.columns)
        rest = [c for c in self.listdef.columns if c.key not in chosen]
        return [*self.columns, *rest]

    def late(self, column: Column, row: Mapping[str, Any]) -> tuple[Any, list[Any]]:
        """What ``ui.overdue`` compares for a cell of ``column``: the clock (now for
        times, today for dates) and the row's dates of ``column.overdue``."""
        days = [row[f"{column.key}__late{index}"] for index in range(len(column.overdue))]
        timed = any(isinstance(day, dt.datetime) for day in days)
        return (dt.datetime.now(dt.UTC) if timed else today()), days

    def overdue_chip(
        self, overdue: Callable[..., str], grace: int
    ) -> Callable[[Column, Mapping[str, Any]], str]:
        """The chip after a cell of a column with ``overdue`` dates: the template's
        ``ui.overdue(clock, grace, *dates)`` for the row's dates."""

        def chip(column: Column, row: Mapping[str, Any]) -> str:
            clock, days = self.late(column, row)
            return overdue(clock, grace, *days)

        return chip

    @property
    def current_view(self) -> SavedView | None:
        return next((v for v in self.views if v.query == self.query), None)

    def done_text(self, change: BulkChange) -> str:
        action = self.listdef.action(change.action)
        label = str(action.label) if action is not None else change.action
        what = self.listdef.count(change.count)
        if change.value_label:
            return _(
                "%(action)s (%(value)s): %(what)s.",
                action=label,
                value=change.value_label,
                what=what,
            )
        return _("%(action)s: %(what)s.", action=label, what=what)


def listing(ctx: Ctx, listdef: ListDef, *, full: bool = True) -> Listing:
    """The list ``listdef`` shaped as the request asks: a page of rows and the totals;
    with ``full`` (the whole page, not the results htmx asks for) also the saved views
    and what the menus offer."""
    shape = read(listdef, ctx.request.query_params.multi_items())
    found = Listing(listdef, shape, ctx.url(listdef.endpoint), engine.chosen(shape))
    who = ctx.acting
    try:
        if shape.errors:
            raise Invalid(dict(shape.errors))
        rows = engine.page(ctx.db, shape, who)
        found.totals = engine.totals(ctx.db, shape, who)
    except Invalid as exc:
        rows, found.errors = [], exc.errors
    found.rows = [dict(row._mapping) for row in rows[: listdef.page_size]]
    found.more = len(rows) > listdef.page_size
    if listdef.details is not None and found.rows:
        found.details = listdef.details[1](ctx.db, who, [row["row__id"] for row in found.rows])
    found.narrowed = _narrowed(ctx, found)
    module = listdef.module
    found.may_export = listdef.may_export(who)
    found.actions = [a for a in listdef.bulk if module is None or who.can(module, a.right)]
    found.change = bulk.latest(ctx.db, who, listdef.name)
    if full:
        found.views = views.list_views(ctx.db, who, listdef.name)
        found.teams = views.share_choices(ctx.db, who)
    return found


def _narrowed(ctx: Ctx, found: Listing) -> list[Narrowed]:
    """The filters of ``ListDef.narrowing`` the shape applies, in words."""
    applied = []
    for name, describe in found.listdef.narrowing.items():
        value = found.shape.filters.get(name, "")
        text = describe(ctx.db, ctx.acting, value) if value else ""
        if text:
            applied.append(Narrowed(name, text, found.filtered(**{name: ""})))
    return applied


def wants_results(ctx: Ctx) -> bool:
    """Whether the request is the filter form's, asking htmx-wise for the results
    alone; a boosted link or htmx restoring history wants the whole page."""
    return ctx.wants_fragment and ctx.request.headers.get("HX-Target", "results") == "results"


def render(ctx: Ctx, template: str, found: Listing, **context: Any) -> Response:
    """Render a list page: the ``results`` block alone for the filter form's htmx
    requests (with the address bar set to the shape's address), else the whole page."""
    fragment = wants_results(ctx)
    headers = {"HX-Push-Url": found.here} if fragment and not found.errors else None
    return ctx.render(
        template,
        block="results" if fragment else None,
        status_code=422 if found.errors else 200,
        headers=headers,
        listing=found,
        **context,
    )


def _list(ctx: Ctx) -> ListDef:
    listdef = wiring.current().lists.get(ctx.param("list_name"))
    if listdef is None:
        raise NotFound(_l("There is no such list."))
    return listdef


def _shape_of(listdef: ListDef, query: str) -> Shape:
    return read(listdef, urllib.parse.parse_qsl(query.lstrip("?"), keep_blank_values=True))


def _back(ctx: Ctx, listdef: ListDef, query: str) -> str:
    """The list's address with ``query`` read as its shape (never another page)."""
    shape = _shape_of(listdef, query)
    path = ctx.url(listdef.endpoint)
    text = shape.query()
    return f"{path}?{text}" if text else path


# -- saved views ----------------------------------------------------------------------


@page()
def list_view_save(ctx: Ctx) -> Response:
    listdef = _list(ctx)
    form = ctx.form_dict()
    query = _shape_of(listdef, str(form.get("query", ""))).query(offset=0)
    team_id = parse_id(str(form.get("team_id", "")))
    try:
        saved = views.save_view(
            ctx.db, ctx.acting, listdef.name, str(form.get("name", "")), query, team_id=team_id
        )
    except Invalid as exc:
        ctx.flash(" ".join(map(str, exc.errors.values())), "error")
        return ctx.redirect(_back(ctx, listdef, query))
    ctx.flash(_("The view “%(name)s” is saved.", name=saved.name))
    return ctx.redirect(_back(ctx, listdef, saved.query))


@page()
def list_view_delete(ctx: Ctx) -> Response:
    listdef = _list(ctx)
    views.delete_view(ctx.db, ctx.acting, listdef.name, ctx.int_param("view_id"))
    ctx.flash(_("The saved view is deleted."))
    return ctx.redirect(ctx.url(listdef.endpoint))


# -- bulk actions ---------------------------------------------------------------------


def _action(ctx: Ctx, listdef: ListDef, name: str) -> BulkAction:
    action = listdef.action(name)
    if action is None:
        raise Invalid({"action": _l("Choose what to do with the chosen rows.")})
    if listdef.module is not None:
        require(ctx.acting, listdef.module, action.right)
    return action


def _confirm(
    ctx: Ctx,
    listdef: ListDef,
    action: BulkAction,
    ids: list[int],
    query: str,
    errors: dict[str, str],
) -> Response:
    shape = _shape_of(listdef, query)
    first = listdef.title_column
    # Named as the list the rows were chosen on shows them (a mail folder, a task view).
    rows = engine.rows_by_id(ctx.db, shape, ctx.acting, ids, extra=[first])
    return ctx.render(
        "lists/confirm.html",
        status_code=422 if errors else 200,
        listdef=listdef,
        action=action,
        ids=ids,
        names=[row._mapping[first.key] for row in rows],
        count=listdef.count(len(ids)),
        choices=action.choices(ctx.db, ctx.acting) if action.choices else [],
        query=query,
        back=_back(ctx, listdef, query),
        errors=errors,
        value=str(ctx.form.get("value", "")) if ctx.form is not None else "",
    )


@page()
def list_bulk(ctx: Ctx) -> Response:
    """A bulk action: first the confirmation page (what, on which rows, with which
    value), then, confirmed, the action; the list then offers to take it back."""
    listdef = _list(ctx)
    form = ctx.form_dict(lists=("ids",))
    query = str(form.get("query", ""))
    back = _back(ctx, listdef, query)
    try:
        action = _action(ctx, listdef, str(form.get("action", "")))
        ids = bulk.chosen_ids([str(v) for v in form["ids"]])
    except Invalid as exc:
        ctx.flash(" ".join(map(str, exc.errors.values())), "error")
        return ctx.redirect(back)
    if not form.get("confirm"):
        return _confirm(ctx, listdef, action, ids, query, {})
    try:
        change = bulk.run(ctx.db, ctx.acting, listdef, action, ids, str(form.get("value", "")))
    except Invalid as exc:
        return _confirm(ctx, listdef, action, ids, query, exc.errors)
    what = listdef.count(len(ids))
    ctx.flash(_("%(action)s: %(what)s.", action=action.label, what=what))
    if change is not None:
        ctx.flash(_("You can take this back from the list for a while."), "info")
    return ctx.redirect(back)


@page()
def list_undo(ctx: Ctx) -> Response:
    form = ctx.form_dict()
    listdef, change, restored = bulk.undo(ctx.db, ctx.acting, ctx.int_param("change_id"))
    if restored < change.count:
        ctx.flash(
            ngettext(
                "Taken back; %(num)d record had changed again since and is left as it is.",
                "Taken back; %(num)d records had changed again since and are left as they are.",
                change.count - restored,
            )
        )
    else:
        ctx.flash(_("Taken back."))
    return ctx.redirect(_back(ctx, listdef, str(form.get("query", ""))))


# -- export ---------------------------------------------------------------------------


def _stream(out: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := out.read(64 * 1024):
            yield chunk
    finally:
        out.close()


@page()
def list_export(ctx: Ctx) -> Response:
    """The shaped list as CSV. Written to a spooled temporary file inside the request's
    transaction (rows fetched in batches), then streamed from it: the database session
    ends when the handler returns."""
    listdef = _list(ctx)
    if not listdef.exportable:
        raise NotFound(_l("This list has no export."))
    if not listdef.may_export(ctx.acting):
        raise Forbidden(_l("You are not allowed to do this."))
    shape = read(listdef, ctx.request.query_params.multi_items())
    if shape.errors:
        raise Invalid(dict(shape.errors))
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed by _stream
    try:
        export.write(ctx.db, shape, ctx.acting, out)
        out.seek(0)
    except BaseException:
        out.close()
        raise
    return StreamingResponse(
        _stream(out),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{export.filename(shape)}"'},
    )


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


routes = [
    _post("/lists/{list_name}/views", list_view_save, "list_view_save"),
    _post("/lists/{list_name}/views/{view_id:int}/delete", list_view_delete, "list_view_delete"),
    _post("/lists/{list_name}/bulk", list_bulk, "list_bulk"),
    _post("/lists/undo/{change_id:int}", list_undo, "list_undo"),
    Route("/lists/{list_name}/export.csv", list_export, name="list_export"),
]
