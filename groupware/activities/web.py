"""The activity stream of a record's page and its quick actions for notes and calls.

:func:`card` is what a record page shows (the partner page has it as a declared
section; the person, deal and task pages call it): the newest entries, the filters by
kind and the quick actions. The stream's own address answers the filters and the
"more" button (htmx fragments of one template), and is a page of its own without htmx.
Notes and calls are written in a small form loaded into the record page; a mistake is
shown in place, a saved one brings the record page back with it on top.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from groupware import stream
from groupware.activities import service
from groupware.activities.models import (
    DIRECTION_LABELS,
    DIRECTIONS,
    KIND_LABELS,
    OUTCOME_LABELS,
    OUTCOMES,
)
from groupware.crm.models import Partner
from groupware.crm.partner360_web import Section
from groupware.errors import Invalid
from groupware.i18n import _, local_time
from groupware.records import record_label, record_url
from groupware.stream import Cursor, Target, Window
from groupware.validation import validate
from groupware.web import Ctx, page

FORM_FIELDS = ("kind", "body", "direction", "outcome", "duration_minutes", "occurred_at")


def _stream_url(where: Target) -> str:
    return f"/records/{where.record_type}/{where.record_id}/stream"


def _query(kinds: list[str], before: Cursor | None) -> str:
    pairs = [("kind", k) for k in kinds]
    if before is not None:
        pairs.append(("before", before.text()))
    return urllib.parse.urlencode(pairs)


def card(
    ctx: Ctx, where: Target, *, kinds: list[str] | None = None, before: str = ""
) -> dict[str, Any]:
    """What the stream card of ``where``'s page shows (the first page, or the one
    after ``before``), for the reader."""
    chosen = [k for k in (kinds or []) if k]
    sources = stream.sources(where.record_type)
    shown = stream.kinds_of(where.record_type, chosen)
    window = Window(before=Cursor.parse(before) if before else None)
    found = stream.read(ctx.db, ctx.acting, where, kinds=shown, window=window)
    filtered = len(shown) < len(sources)
    return {
        "target": where,
        "url": _stream_url(where),
        "items": found.items,
        "continued": bool(before),
        "more": f"{_stream_url(where)}?{_query(shown if filtered else [], found.next)}"
        if found.next
        else "",
        "filters": [(s.kind, s.label, filtered and s.kind in shown) for s in sources],
        "labels": {s.kind: s.item_label for s in sources},
        "actions": [
            (a.name, a.label, a.url(where), a.inline, a.icon)
            for a in stream.actions(ctx.acting, where)
        ],
    }


def _target(ctx: Ctx, action: str = "view") -> Target:
    return stream.target(
        ctx.db, ctx.acting, ctx.param("record_type"), ctx.int_param("record_id"), action
    )


@page()
def record_stream(ctx: Ctx) -> Response:
    """The stream: a page of its own, the list for other filters, or the next items."""
    where = _target(ctx)
    kinds = ctx.request.query_params.getlist("kind")
    before = ctx.query("before")
    data = card(ctx, where, kinds=kinds, before=before)
    return ctx.render(
        "activities/stream.html",
        block="stream_more" if before else "stream_list",
        stream=data,
        record=where.record,
        record_name=record_label(where.record_type),
        record_link=record_url(where.record_type, where.record_id),
    )


# -- notes and calls ------------------------------------------------------------------


def _form(
    ctx: Ctx, where: Target, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return ctx.render(
        "activities/form.html",
        block="activity_form",
        target=where,
        record=where.record,
        record_name=record_label(where.record_type),
        record_link=record_url(where.record_type, where.record_id),
        form=form,
        errors=errors,
        kind_labels=KIND_LABELS,
        direction_options=[(d, DIRECTION_LABELS[d]) for d in DIRECTIONS],
        outcome_options=[(o, OUTCOME_LABELS[o]) for o in OUTCOMES],
        status_code=status,
    )


@page()
def activity_new(ctx: Ctx) -> Response:
    where = _target(ctx)
    kind = "call" if ctx.query("kind") == "call" else "note"
    now = local_time(dt.datetime.now(dt.UTC)).strftime("%Y-%m-%dT%H:%M")
    form = {"kind": kind, "direction": "out", "outcome": "reached", "occurred_at": now}
    return _form(ctx, where, form, {})


@page()
def activity_create(ctx: Ctx) -> Response:
    where = _target(ctx)
    form = ctx.form_dict()
    values = {k: v for k, v in form.items() if k in FORM_FIELDS and str(v).strip()}
    try:
        data = validate(service.ActivityIn, values)
        service.add_activity(ctx.db, ctx.acting, where.record_type, where.record_id, data)
    except Invalid as exc:
        return _form(ctx, where, form, exc.errors, 422)
    ctx.flash(_("The call is logged.") if data.kind == "call" else _("The note is added."))
    return ctx.redirect(record_url(where.record_type, where.record_id) or _stream_url(where))


@page()
def activity(ctx: Ctx) -> Response:
    row = service.get_activity_for_user(ctx.db, ctx.acting, ctx.int_param("activity_id"))
    return ctx.render(
        "activities/detail.html",
        activity=row,
        facts=service.facts(row),
        kind_labels=KIND_LABELS,
        record_name=record_label(row.record_type),
        record_link=record_url(row.record_type, row.record_id),
        may_delete=service.may_delete(ctx.db, ctx.acting, row),
    )


@page()
def activity_delete(ctx: Ctx) -> Response:
    row = service.delete_activity(ctx.db, ctx.acting, ctx.int_param("activity_id"))
    ctx.flash(_("The note is deleted.") if row.kind == "note" else _("The call is deleted."))
    return ctx.redirect(record_url(row.record_type, row.record_id) or "/")


# -- the partner page -----------------------------------------------------------------


def _partner_stream(ctx: Ctx, partner: Partner) -> dict[str, Any]:
    return card(ctx, Target("partners", partner.id, partner))


PARTNER_SECTION = Section("stream", "activities/_section.html", _partner_stream, order=5)


RECORD = "/records/{record_type}/{record_id:int}"
routes = [
    Route(RECORD + "/stream", record_stream, name="record_stream"),
    Route(RECORD + "/activities/new", activity_new, name="activity_new"),
    Route(RECORD + "/activities", activity_create, methods=["POST"], name="activity_create"),
    Route("/activities/{activity_id:int}", activity, name="activity"),
    Route(
        "/activities/{activity_id:int}/delete",
        activity_delete,
        methods=["POST"],
        name="activity_delete",
    ),
]
