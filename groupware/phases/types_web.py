"""The process-type editor: one set of pages for every kind of process type the areas
declare (``/admin/deal-types``, ``/admin/campaign-types``...), each type with its
ordered phases and their planned days. Administrators only."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware import wiring
from groupware.errors import Invalid, NotFound
from groupware.i18n import _l
from groupware.phases import types
from groupware.phases.models import ProcessType
from groupware.phases.types import ProcessKind
from groupware.validation import validate
from groupware.web import Ctx, page

EMPTY_STEPS = 3  # blank rows the type form offers for new phases


def kinds() -> list[ProcessKind]:
    """The kinds of process type the areas declare, in their order."""
    return list(wiring.current().process_kinds.values())


def _kind(ctx: Ctx) -> ProcessKind:
    kind = wiring.current().process_kinds.get(ctx.param("process"))
    if kind is None:
        raise NotFound(_l("There is no such page."))
    return kind


def _form(
    ctx: Ctx,
    kind: ProcessKind,
    type_id: int | None,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    names = [str(n) for n in form.get("phase_name", [])]
    days = [str(d) for d in form.get("phase_days", [])]
    steps = list(zip(names, days + [""] * (len(names) - len(days)), strict=True))
    return ctx.render(
        "phases/type_form.html",
        kind=kind,
        type_id=type_id,
        form=form,
        errors=errors,
        steps=steps + [("", "")] * EMPTY_STEPS,
        direction_options=list(kind.directions.items()),
        status_code=status,
    )


def _type_in(form: dict[str, Any]) -> types.TypeIn:
    steps = [
        {"name": name, "planned_days": days or 0}
        for name, days in zip(form.get("phase_name", []), form.get("phase_days", []), strict=False)
        if str(name).strip()
    ]
    return validate(
        types.TypeIn,
        {
            "name": form.get("name", ""),
            "direction": form.get("direction") or None,
            "description": form.get("description", ""),
            "is_active": bool(form.get("is_active")),
            "phases": steps,
        },
    )


def _values(ctx: Ctx) -> dict[str, Any]:
    return ctx.form_dict(lists=("phase_name", "phase_days"), checkboxes=("is_active",))


def _listed(ctx: Ctx, kind: ProcessKind) -> str:
    return ctx.url("process_types", process=kind.process)


@page(admin=True)
def process_types(ctx: Ctx) -> Response:
    kind = _kind(ctx)
    return ctx.render(
        "phases/types.html",
        kind=kind,
        types=types.list_types(ctx.db, kind),
    )


@page(admin=True)
def process_type_new(ctx: Ctx) -> Response:
    kind = _kind(ctx)
    form: dict[str, Any] = {"is_active": True, "direction": next(iter(kind.directions), "")}
    return _form(ctx, kind, None, form, {})


@page(admin=True)
def process_type_create(ctx: Ctx) -> Response:
    kind = _kind(ctx)
    form = _values(ctx)
    try:
        row = types.save_type(ctx.db, ctx.acting, kind, None, _type_in(form))
    except Invalid as exc:
        return _form(ctx, kind, None, form, exc.errors, 422)
    ctx.flash(kind.saved(row.name))
    return ctx.redirect(_listed(ctx, kind))


@page(admin=True)
def process_type_edit(ctx: Ctx) -> Response:
    kind = _kind(ctx)
    row = types.get_type(ctx.db, kind, ctx.int_param("type_id"))
    form = {
        "name": row.name,
        "direction": row.direction or "",
        "description": row.description,
        "is_active": row.is_active,
        "phase_name": [p.name for p in row.phases],
        "phase_days": [p.planned_days for p in row.phases],
    }
    return _form(ctx, kind, row.id, form, {})


@page(admin=True)
def process_type_save(ctx: Ctx) -> Response:
    kind = _kind(ctx)
    type_id = ctx.int_param("type_id")
    types.get_type(ctx.db, kind, type_id)
    form = _values(ctx)
    try:
        row = types.save_type(ctx.db, ctx.acting, kind, type_id, _type_in(form))
    except Invalid as exc:
        return _form(ctx, kind, type_id, form, exc.errors, 422)
    ctx.flash(kind.saved(row.name))
    return ctx.redirect(_listed(ctx, kind))


@page(admin=True)
def process_type(ctx: Ctx) -> Response:
    """Any type by its id (where the history links a type): its kind's own page."""
    row = ctx.db.get(ProcessType, ctx.int_param("type_id"))
    if row is None or row.process not in wiring.current().process_kinds:
        raise NotFound(_l("There is no such page."))
    return ctx.redirect(ctx.url("process_type_edit", process=row.process, type_id=row.id))


def _post(path: str, endpoint: Any, name: str) -> Route:
    return Route(path, endpoint, methods=["POST"], name=name)


routes = [
    Route("/admin/process-types/{type_id:int}", process_type, name="process_type"),
    Route("/admin/{process}-types", process_types, name="process_types"),
    Route("/admin/{process}-types/new", process_type_new, name="process_type_new"),
    _post("/admin/{process}-types/new", process_type_create, "process_type_create"),
    Route("/admin/{process}-types/{type_id:int}", process_type_edit, name="process_type_edit"),
    _post("/admin/{process}-types/{type_id:int}", process_type_save, "process_type_save"),
]
