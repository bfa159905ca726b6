"""API: ``/documents``, the ERP's offers, orders, invoices and delivery notes
(operations of :data:`api`).

The ERP sends a document again whenever it changes: the pair (kind, number) names
one, so ``PUT /documents`` creates or updates it, and ``POST /documents/batch`` does
the same for up to 1,000 documents in one transaction, all or nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import joinedload
from starlette.responses import JSONResponse

from groupware.api import Api, Call, Out, PageQuery, page_of
from groupware.crm import documents as service
from groupware.crm.api import Ref
from groupware.crm.models import Document
from groupware.errors import GroupwareError, Invalid
from groupware.i18n import _, _l
from groupware.validation import OptionalId, OptionalLocalDate, Schema, fail

api = Api("crm")

BATCH_LIMIT = 1000


class DocumentQuery(PageQuery):
    partner_id: OptionalId = None
    kind: service.Kind | None = None
    status: Literal["draft", "open", "closed", "cancelled"] | None = None
    date_from: OptionalLocalDate = Field(default=None, description="Documents of this day or later")
    date_to: OptionalLocalDate = Field(default=None, description="Documents of this day or earlier")


class DocumentOut(Out):
    id: int
    kind: str
    number: str
    date: dt.date
    due_date: dt.date | None
    partner: Ref
    net_amount: decimal.Decimal
    gross_amount: decimal.Decimal
    currency: str
    status: str
    open_amount: decimal.Decimal
    created_at: dt.datetime


class BatchIn(Schema):
    documents: list[service.DocumentIn] = Field(
        json_schema_extra={"minItems": 1, "maxItems": BATCH_LIMIT}
    )

    @field_validator("documents", mode="before")
    @classmethod
    def _size(cls, value: Any) -> Any:
        if isinstance(value, list) and not 1 <= len(value) <= BATCH_LIMIT:
            raise fail(_l("Send between 1 and 1,000 documents."))
        return value


class BatchItemOut(BaseModel):
    index: int
    id: int
    created: bool


class BatchOut(BaseModel):
    created: int
    updated: int
    items: list[BatchItemOut]


def document_out(row: Document) -> DocumentOut:
    return DocumentOut.of(row)


@api.operation(
    "GET",
    "/documents",
    summary="ERP documents of partners you may see, by id",
    response=DocumentOut,
    query=DocumentQuery,
    paginated=True,
)
def list_documents(call: Call) -> tuple[list[DocumentOut], str | None]:
    q: DocumentQuery = call.query
    query = service.document_query(call.who, partner_id=q.partner_id, kind=q.kind)
    if q.status is not None:
        query = query.where(Document.status == q.status)
    if q.date_from is not None:
        query = query.where(Document.date >= q.date_from)
    if q.date_to is not None:
        query = query.where(Document.date <= q.date_to)
    after = q.after_id()
    if after is not None:
        query = query.where(Document.id > after)
    query = query.options(joinedload(Document.partner)).order_by(None).order_by(Document.id)
    page, cursor = page_of(list(call.db.scalars(query.limit(q.limit + 1))), q.limit)
    return [document_out(d) for d in page], cursor


@api.operation("GET", "/documents/{document_id}", summary="One ERP document", response=DocumentOut)
def get_document(call: Call) -> DocumentOut:
    row = service.get_document_for_user(call.db, call.who, call.int_param("document_id"))
    return document_out(row)


@api.operation(
    "PUT",
    "/documents",
    summary="Create or update the document with this kind and number (201 when new)",
    response=DocumentOut,
    body=service.DocumentIn,
    also=(201,),
)
def put_document(call: Call) -> JSONResponse:
    row, created = service.upsert_document(call.db, call.who, call.body)
    call.db.refresh(row)
    body = document_out(row).model_dump(mode="json")
    return JSONResponse(body, status_code=201 if created else 200)


@api.operation(
    "POST",
    "/documents/batch",
    summary="Create or update up to 1,000 documents at once, all or nothing",
    response=BatchOut,
    body=BatchIn,
)
def put_documents_batch(call: Call) -> BatchOut:
    """Every document is tried; when any fails, nothing is kept and the answer lists
    each failure under ``documents.<index>.<field>``."""
    errors: dict[str, str] = {}
    items: list[BatchItemOut] = []
    seen: dict[tuple[str, str], int] = {}
    for index, data in enumerate(call.body.documents):
        first = seen.setdefault((data.kind, data.number), index)
        if first != index:
            errors[f"documents.{index}.number"] = _(
                "The batch has this document already (item %(index)s).", index=first
            )
            continue
        try:
            row, created = service.upsert_document(call.db, call.who, data)
        except GroupwareError as exc:
            for field, message in _errors_of(exc).items():
                errors[f"documents.{index}{'.' + field if field else ''}"] = message
            continue
        items.append(BatchItemOut(index=index, id=row.id, created=created))
    if errors:
        raise Invalid(errors)
    new = sum(1 for i in items if i.created)
    return BatchOut(created=new, updated=len(items) - new, items=items)


def _errors_of(exc: GroupwareError) -> dict[str, str]:
    """A service error as field messages; "no such partner" names the partner."""
    if isinstance(exc, Invalid):
        return {k: str(v) for k, v in exc.errors.items()}
    field = "partner_id" if exc.status_code == 404 else ""
    return {field: str(exc.message)}
