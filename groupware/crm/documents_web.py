"""ERP document pages: the list (shaped by the person, :mod:`groupware.crm.lists`) and a
document's detail.

Documents come from the ERP (CSV import and the API); the web shows them and has no
form to write one.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import Route

from groupware.access.policy import visible
from groupware.crm.documents import get_document_for_user
from groupware.crm.lists import DOCUMENT_LABELS, DOCUMENTS
from groupware.crm.models import Partner
from groupware.i18n import _l
from groupware.lists import web as lists_web
from groupware.validation import parse_id
from groupware.web import Ctx, NavItem, page

nav = [NavItem(_l("ERP documents"), "documents", module="documents", order=90, icon="file-text")]


@page()
def documents(ctx: Ctx) -> Response:
    # No module right needed: a user without one sees the documents shared with them.
    full = not lists_web.wants_results(ctx)
    found = lists_web.listing(ctx, DOCUMENTS, full=full)
    partner_id = parse_id(found.shape.filters.get("partner_id", ""))
    partner_name = (
        ctx.db.scalar(
            select(Partner.name).where(Partner.id == partner_id, visible(Partner, ctx.acting))
        )
        if partner_id
        else None
    )
    return lists_web.render(
        ctx, "crm/document_list.html", found, labels=DOCUMENT_LABELS, partner_name=partner_name
    )


@page()
def document(ctx: Ctx) -> Response:
    row = get_document_for_user(ctx.db, ctx.acting, ctx.int_param("document_id"))
    return ctx.render("crm/document_detail.html", document=row, labels=DOCUMENT_LABELS)


routes = [
    Route("/documents", documents, name="documents"),
    Route("/documents/{document_id:int}", document, name="document"),
]
