"""ERP document pages: the filtered list and a document's detail.

Documents come from the ERP (CSV import and the API); the web shows them and has no
form to write one.
"""

from __future__ import annotations

import urllib.parse
from typing import Any, Literal

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import visible
from groupware.crm.documents import document_query, get_document_for_user
from groupware.crm.models import Document, Partner
from groupware.crm.normalize import search_text
from groupware.db import escape_like
from groupware.errors import Invalid
from groupware.i18n import _l
from groupware.validation import OptionalId, OptionalLocalDate, Schema, validate
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("ERP documents"), "documents", module="documents", order=90, icon="file-text")]
PAGE_SIZE = 50

DOCUMENT_LABELS: dict[str, dict[str, Any]] = {
    "kind": {
        "offer": _l("offer"),
        "order": _l("order"),
        "invoice": _l("invoice"),
        "delivery_note": _l("delivery note"),
    },
    "status": {
        "draft": _l("draft"),
        "open": _l("open"),
        "closed": _l("closed"),
        "cancelled": _l("cancelled"),
    },
}


class DocumentFilter(Schema):
    """The list's query string."""

    kind: Literal["", "offer", "order", "invoice", "delivery_note"] = ""
    status: Literal["", "draft", "open", "closed", "cancelled"] = ""
    partner: str = Field(default="", max_length=100)
    partner_id: OptionalId = None
    date_from: OptionalLocalDate = None
    date_to: OptionalLocalDate = None


def _filtered(ctx: Ctx, f: DocumentFilter, offset: int) -> list[Document]:
    query = document_query(ctx.acting, partner_id=f.partner_id, kind=f.kind or None)
    if f.status:
        query = query.where(Document.status == f.status)
    if f.date_from is not None:
        query = query.where(Document.date >= f.date_from)
    if f.date_to is not None:
        query = query.where(Document.date <= f.date_to)
    words = search_text(f.partner)
    if words:
        named = select(Partner.id).where(
            Partner.name_search.like(f"%{escape_like(words)}%", escape="\\")
        )
        query = query.where(Document.partner_id.in_(named))
    query = query.options(joinedload(Document.partner)).offset(offset).limit(PAGE_SIZE + 1)
    return list(ctx.db.scalars(query))


@page()
def documents(ctx: Ctx) -> Response:
    # No module right needed: a user without one sees the documents shared with them.
    offset = min(ctx.query_id("offset") or 0, 1_000_000)
    params = {k: v for k, v in ctx.request.query_params.items() if k != "offset"}
    errors: dict[str, str] = {}
    rows: list[Document] = []
    try:
        f = validate(DocumentFilter, params)
        rows = _filtered(ctx, f, offset)
    except Invalid as exc:
        errors = exc.errors
        f = DocumentFilter()
    partner_name = (
        ctx.db.scalar(
            select(Partner.name).where(Partner.id == f.partner_id, visible(Partner, ctx.acting))
        )
        if f.partner_id
        else None
    )
    return ctx.render(
        "crm/document_list.html",
        block="results",
        rows=rows[:PAGE_SIZE],
        form=params,
        errors=errors,
        labels=DOCUMENT_LABELS,
        partner_name=partner_name,
        more_url="?" + urllib.parse.urlencode({**params, "offset": offset + PAGE_SIZE})
        if len(rows) > PAGE_SIZE
        else "",
        status_code=422 if errors else 200,
    )


@page()
def document(ctx: Ctx) -> Response:
    row = get_document_for_user(ctx.db, ctx.acting, ctx.int_param("document_id"))
    return ctx.render("crm/document_detail.html", document=row, labels=DOCUMENT_LABELS)


routes = [
    Route("/documents", documents, name="documents"),
    Route("/documents/{document_id:int}", document, name="document"),
]
