"""The JSON API under ``/api/v1``: Bearer-token auth, validation, paging and OpenAPI.

Each area declares its operations on an :class:`Api` with the pydantic schemas of
query, body and response; the same declarations validate requests, serialise answers
and build ``/api/v1/openapi.json``, so the document cannot drift from the code.
Handlers are plain functions ``def op(call: Call) -> ...`` running in one transaction
with the same access helpers and history as the web pages (channel ``api``).

Errors are ``{"error": {"status": 422, "message": "...", "fields": {"email": "..."}}}``.
Lists are paged by a cursor: ``?limit=50`` answers ``{"items": [...], "next_cursor":
"..."}``; pass ``cursor`` to get the next page.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import models_json_schema
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from groupware import wiring
from groupware.access.policy import Who, get_for_user, load_who, record_models, require
from groupware.accounts import credentials
from groupware.accounts.models import User
from groupware.db import bind_actor
from groupware.errors import CONFLICT_MESSAGE, GroupwareError, Invalid, NotFound
from groupware.i18n import _, _l, pick_language, use_language
from groupware.requestlog import note_user
from groupware.validation import MAX_ID, errors_of, unstorable_text

if TYPE_CHECKING:
    from groupware.app import Groupware

log = logging.getLogger(__name__)

API_TITLE = "groupware API"
API_VERSION = "1"


class BadBody(GroupwareError):
    """The body is not JSON (400) or not sent as JSON (415)."""

    def __init__(self, status_code: int, message: Any) -> None:
        super().__init__(message)
        self.status_code = status_code


class ErrorBody(BaseModel):
    status: int
    message: str
    fields: dict[str, str] = Field(default_factory=dict)


class ErrorOut(BaseModel):
    error: ErrorBody


class _Overlay:
    """An object's attributes with some replaced or added, for :meth:`Out.of`."""

    __slots__ = ("_extra", "_obj")

    def __init__(self, obj: object, extra: dict[str, Any]) -> None:
        self._obj = obj
        self._extra = extra

    def __getattr__(self, name: str) -> Any:
        extra = self._extra
        return extra[name] if name in extra else getattr(self._obj, name)


class Out(BaseModel):
    """An answer read from a record's attributes (pydantic's ``from_attributes``): the
    schema names the fields, the model supplies them, nothing copies them by hand."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, obj: object, **computed: Any) -> Self:
        """``obj`` as this answer; ``computed`` gives the fields ``obj`` lacks or that
        the answer shows otherwise (a user's name as a reference, counts, …)."""
        return cls.model_validate(_Overlay(obj, computed) if computed else obj)


class PageQuery(BaseModel):
    """Cursor paging shared by every list."""

    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None

    def after_id(self) -> int | None:
        if self.cursor is None or not self.cursor.strip():
            return None  # ``?cursor=``: a client's template with no cursor yet
        # Only ASCII digits: str.isdigit() also accepts "²", which int() refuses.
        if not re.fullmatch(r"[0-9]{1,10}", self.cursor) or int(self.cursor) > MAX_ID:
            raise Invalid({"cursor": _("This cursor is not valid.")})
        return int(self.cursor)


@dataclass
class Call:
    """One API request as its handler sees it."""

    request: Request
    gw: Groupware
    db: Session
    user: User
    who: Who
    body: Any = None
    query: Any = None

    def int_param(self, name: str) -> int:
        return int(self.request.path_params[name])

    def param(self, name: str) -> str:
        return str(self.request.path_params[name])


@dataclass
class Operation:
    method: str
    path: str
    handler: Callable[[Call], Any]
    summary: str
    tag: str
    response: type[BaseModel] | None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    paginated: bool = False
    admin: bool = False
    # A body that is not JSON (a file) and that the handler reads itself: its media types.
    upload: tuple[str, ...] = ()
    # Other successes, answered with the same body (an upsert's 201 beside its 200).
    also: tuple[int, ...] = ()

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


@dataclass
class Api:
    """The operations of one area."""

    tag: str
    operations: list[Operation] = field(default_factory=list)

    def operation(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        response: type[BaseModel] | None = None,
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        status: int = 200,
        paginated: bool = False,
        admin: bool = False,
        upload: tuple[str, ...] = (),
        also: tuple[int, ...] = (),
    ) -> Callable[[Callable[[Call], Any]], Callable[[Call], Any]]:
        """Declare an operation; ``admin`` ones are refused (403) to non-administrators
        before their input is even read."""

        def register(handler: Callable[[Call], Any]) -> Callable[[Call], Any]:
            self.operations.append(
                Operation(
                    method,
                    path,
                    handler,
                    summary,
                    self.tag,
                    response,
                    body,
                    query,
                    status,
                    paginated,
                    admin,
                    upload,
                    also,
                )
            )
            return handler

        return register

    def routes(self) -> list[Route]:
        by_path: dict[str, list[Operation]] = {}
        for op in self.operations:
            by_path.setdefault(op.path, []).append(op)
        return [
            Route(
                _starlette_path(path),
                _endpoint(ops),
                methods=[op.method for op in ops],
                name="api:" + "|".join(op.operation_id for op in ops),
            )
            for path, ops in by_path.items()
        ]


def _is_id(name: str) -> bool:
    """Path parameters named ``id`` or ``*_id`` are integers; others are strings."""
    return name == "id" or name.endswith("_id")


def _starlette_path(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: f"{{{m[1]}:{'int' if _is_id(m[1]) else 'str'}}}", path)


def error_json(status: int, message: str, fields: dict[str, str] | None = None) -> JSONResponse:
    body = ErrorOut(error=ErrorBody(status=status, message=message, fields=fields or {}))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _endpoint(ops: Sequence[Operation]) -> Callable[[Request], Any]:
    by_method = {op.method: op for op in ops}

    async def endpoint(request: Request) -> Response:
        gw: Groupware = request.app.state.gw
        # Starlette answers HEAD on GET routes: it is the GET without a body.
        op = by_method["GET" if request.method == "HEAD" else request.method]
        language = pick_language(request.headers.get("Accept-Language"))
        raw_body = await _read_json(request, op)
        write = request.method not in ("GET", "HEAD")
        return await gw.db_run(
            lambda db: _run(request, gw, db, op, raw_body, language), write=write
        )

    return endpoint


async def _read_json(request: Request, op: Operation) -> Any:
    """The parsed body, or the :class:`BadBody` to answer once the caller is known (so
    that a request without a token gets 401 and the message is in the user's language).
    """
    if op.body is None:
        return None
    if "json" not in request.headers.get("Content-Type", ""):
        return BadBody(415, _l("Send the body as application/json."))
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return BadBody(400, _l("The body is not valid JSON."))


def _authenticate(db: Session, request: Request) -> tuple[User | None, int | None]:
    header = request.headers.get("Authorization", "")
    scheme, _sep, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None, None
    return credentials.user_for_token(db, token.strip())


def _check_path_ids(request: Request) -> None:
    for name, value in request.path_params.items():
        if _is_id(name) and value > MAX_ID:
            raise NotFound(_("There is no such record, or you may not see it."))


def _check_path_records(call: Call) -> None:
    """A record the path names (``{deal_id}``, ``{record_type}/{record_id}``) that the
    user may not see answers 404 before anything else is looked at: a wrong body or
    query would otherwise answer 422 and tell that the record exists."""
    models = record_models()
    by_param = {model.__name__.lower() + "_id": model for model in models.values()}
    params = call.request.path_params
    for name, value in params.items():
        if name == "record_id":
            model = models.get(str(params.get("record_type")))
        else:
            model = by_param.get(name)
        if model is not None:
            get_for_user(call.db, call.who, model, value)


def _run(
    request: Request, gw: Groupware, db: Session, op: Operation, raw_body: Any, language: str | None
) -> Response:
    with db.begin() as transaction:
        user, used_token = _authenticate(db, request)
        note_user(request.scope, user.id if user else None)
        response: Response
        chosen = language or (user.language if user else gw.settings.default_language)
        with use_language(chosen, gw.settings.timezone):
            if user is None:
                response = error_json(
                    401, _("Send a valid API token: Authorization: Bearer <token>.")
                )
            else:
                response = _handle(request, gw, db, op, raw_body, user)
        if response.status_code >= 400:
            transaction.rollback()
    if used_token is not None:
        # Noting the token's use is a write of its own: the request may be a read, and
        # the note is kept even when the request fails.
        gw.bookkeeping([lambda s: credentials.touch(s, used_token)])
    return response


def _handle(
    request: Request, gw: Groupware, db: Session, op: Operation, raw_body: Any, user: User
) -> Response:
    bind_actor(db, actor_id=user.id, channel="api")
    try:
        if isinstance(raw_body, BadBody):
            raise raw_body
        _check_path_ids(request)
        call = Call(request, gw, db, user, load_who(db, user))
        if op.admin:
            require(call.who, "system", "admin")
        _check_path_records(call)
        call.query = _validate(op.query, dict(request.query_params), location="query")
        call.body = _validate(op.body, raw_body, location="body")
        return _respond(op, op.handler(call))
    except GroupwareError as exc:
        fields = {k: str(v) for k, v in getattr(exc, "errors", {}).items()}
        return error_json(exc.status_code, str(exc.message), fields)
    except IntegrityError:
        # Two requests raced to create the same thing; the database kept one.
        return error_json(409, str(CONFLICT_MESSAGE))


def _validate(schema: type[BaseModel] | None, data: Any, *, location: str) -> Any:
    if schema is None:
        return None
    if location == "body" and not isinstance(data, dict):
        raise Invalid({"": _("The body must be a JSON object.")})
    if unstorable := unstorable_text(data):
        raise Invalid(unstorable)
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise Invalid(errors_of(exc)) from None


def _dump(schema: type[BaseModel] | None, value: Any) -> Any:
    if schema is None or isinstance(value, dict):
        return value
    model = (
        value if isinstance(value, schema) else schema.model_validate(value, from_attributes=True)
    )
    return model.model_dump(mode="json")


def _respond(op: Operation, result: Any) -> Response:
    if isinstance(result, Response):
        return result
    if op.status == 204:
        return Response(status_code=204)
    if op.paginated:
        items, next_cursor = result
        payload = {"items": [_dump(op.response, i) for i in items], "next_cursor": next_cursor}
    else:
        payload = _dump(op.response, result)
    return JSONResponse(payload, status_code=op.status)


def page_of(items: list[Any], limit: int) -> tuple[list[Any], str | None]:
    """Trim a list fetched with ``limit + 1`` rows into a page and its next cursor."""
    if len(items) > limit:
        items = items[:limit]
        return items, str(items[-1].id)
    return items, None


# -- OpenAPI ---------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    apis = wiring.current().apis
    pairs: list[tuple[type[BaseModel], Any]] = [(ErrorOut, "serialization")]
    for api in apis:
        for op in api.operations:
            if op.response is not None:
                pairs.append((op.response, "serialization"))
            if op.body is not None:
                pairs.append((op.body, "validation"))
    refs, schema = models_json_schema(
        list(dict.fromkeys(pairs)), ref_template="#/components/schemas/{model}"
    )
    components = schema.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for api in apis:
        for op in api.operations:
            ref = refs[(op.response, "serialization")]["$ref"] if op.response else None
            paths.setdefault("/api/v1" + op.path, {})[op.method.lower()] = _operation_doc(
                op, ref, refs
            )
    return {
        "openapi": "3.1.0",
        "info": {"title": API_TITLE, "version": API_VERSION},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"token": []}],
    }


def _operation_doc(op: Operation, ref: str | None, refs: dict[Any, Any]) -> dict[str, Any]:
    errors = [
        (400, "Bad request"),
        (401, "No valid token"),
        (403, "Not allowed"),
        (404, "Not found"),
        (422, "Invalid input"),
    ]
    if op.method != "GET":  # reads run in a read-only transaction and never clash
        errors.append((409, "Clashes with the state of a record or a change made at once"))
    if op.body is not None or op.upload:
        errors += [(413, "The body is too large"), (415, "The body is not of a type it takes")]
    error = {"$ref": "#/components/schemas/ErrorOut"}
    doc: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": {
            str(code): {"description": text, "content": {"application/json": {"schema": error}}}
            for code, text in sorted(errors)
        },
    }
    if op.status == 204:
        doc["responses"]["204"] = {"description": "Done"}
    else:
        schema: dict[str, Any] = {"$ref": ref} if ref else {"type": "object"}
        if op.paginated:
            schema = {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": schema},
                    "next_cursor": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
            }
        for status in (op.status, *op.also):
            doc["responses"][str(status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": schema}},
            }
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    elif op.upload:
        file = {"schema": {"type": "string"}}
        doc["requestBody"] = {"required": True, "content": dict.fromkeys(op.upload, file)}
    return doc


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": (
                {"type": "integer", "minimum": 1, "maximum": MAX_ID}
                if _is_id(name)
                else {"type": "string"}
            ),
        }
        for name in re.findall(r"\{(\w+)\}", op.path)
    ]
    if op.query is not None:
        schema = op.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            params.append(
                {"name": name, "in": "query", "required": name in required, "schema": prop}
            )
    return params


async def _openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


openapi_route = Route("/openapi.json", _openapi, methods=["GET"], name="openapi")
