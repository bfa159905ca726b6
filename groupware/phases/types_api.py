"""The API of a kind of process type (``/deal-types``, ``/campaign-types``...): the
types with their phase templates, read by everyone with the API, written by the
kind's administrators. An area's API declares them with :func:`declare`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from groupware.api import Api, Call, Out
from groupware.phases import types
from groupware.phases.models import ProcessType
from groupware.phases.types import ProcessKind


class StepOut(Out):
    id: int
    position: int
    name: str
    planned_days: int


class TypeOut(Out):
    id: int
    name: str
    direction: str | None
    description: str
    is_active: bool
    phases: list[StepOut]


def type_out(row: ProcessType) -> TypeOut:
    return TypeOut.of(row)


def _named(name: str, handler: Callable[[Call], Any]) -> Callable[[Call], Any]:
    handler.__name__ = handler.__qualname__ = name  # the operation's id in the document
    return handler


def declare(api: Api, kind: ProcessKind) -> None:
    """Add the operations on ``kind``'s types to ``api``."""
    path, word = f"/{kind.slug}", kind.process

    def list_types(call: Call) -> tuple[list[TypeOut], None]:
        return [type_out(t) for t in types.list_types(call.db, kind)], None

    def create_type(call: Call) -> TypeOut:
        return type_out(types.save_type(call.db, call.who, kind, None, call.body))

    def put_type(call: Call) -> TypeOut:
        type_id = call.int_param("type_id")
        return type_out(types.save_type(call.db, call.who, kind, type_id, call.body))

    api.operation(
        "GET", path, summary=f"The {word} types with their phases", response=TypeOut,
        paginated=True,
    )(_named(f"list_{word}_types", list_types))  # fmt: skip
    api.operation(
        "POST", path, summary=f"Add a {word} type with its phase template",
        response=TypeOut, body=types.TypeIn, status=201,
    )(_named(f"create_{word}_type", create_type))  # fmt: skip
    api.operation(
        "PUT", f"{path}/{{type_id}}",
        summary=f"Change a {word} type and its template (records under way keep their plans)",
        response=TypeOut, body=types.TypeIn,
    )(_named(f"put_{word}_type", put_type))  # fmt: skip
