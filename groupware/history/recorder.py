"""Records history from the session: one hook, for every tracked model.

A model opts in with ``__tracked__ = True`` and may hide fields with
``__history_exclude__``. The hook runs after each flush, while the objects still know
their previous values, and writes one row per changed record. The unit of work must
say who acts and through which channel (:func:`groupware.db.bind_actor`); a tracked
change without a channel is a programming error and fails loudly.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import enum
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, UOWTransaction, object_session
from sqlalchemy.orm.base import NO_VALUE

from groupware.db import Base, utcnow
from groupware.history.models import Change


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _tracked(obj: object) -> bool:
    return bool(getattr(type(obj), "__tracked__", False))


# The history row has its own time and record id; these would only repeat them.
_ALWAYS_EXCLUDED = frozenset({"id", "created_at", "updated_at"})


def _columns(obj: Base) -> Iterable[str]:
    excluded = _ALWAYS_EXCLUDED | getattr(type(obj), "__history_exclude__", frozenset())
    for attr in inspect(type(obj)).column_attrs:
        if attr.key not in excluded:
            yield attr.key


def _snapshot(obj: Base, *, old: bool) -> dict[str, list[Any]]:
    state = inspect(obj)
    changes: dict[str, list[Any]] = {}
    for key in _columns(obj):
        value = state.attrs[key].loaded_value
        if value is NO_VALUE:
            continue
        value = _jsonable(value)
        changes[key] = [value, None] if old else [None, value]
    return changes


def _diff(obj: Base, connection: Connection, mapper: Mapper[Any]) -> dict[str, list[Any]]:
    state = inspect(obj)
    changed: dict[str, Any] = {}
    old_values: dict[str, Any] = {}
    for key in _columns(obj):
        hist = state.attrs[key].history
        if not hist.has_changes():
            continue
        changed[key] = hist.added[0] if hist.added else None
        if hist.deleted:
            old_values[key] = hist.deleted[0]
    unknown = [key for key in changed if key not in old_values]
    if unknown:
        # The old value was never loaded (expired or deferred): read it from the row,
        # which this runs just before the UPDATE changes.
        columns = [mapper.attrs[key].columns[0] for key in unknown]
        where = [
            c == v
            for c, v in zip(mapper.primary_key, mapper.primary_key_from_instance(obj), strict=True)
        ]
        row = connection.execute(select(*columns).where(*where)).one()
        old_values.update(zip(unknown, row, strict=True))
    changes: dict[str, list[Any]] = {}
    for key, new in changed.items():
        old, new = _jsonable(old_values[key]), _jsonable(new)
        if old != new:
            changes[key] = [old, new]
    return changes


def record(
    session: Session,
    rows: Iterable[dict[str, Any]],
) -> None:
    """Write history rows directly (for bulk paths that bypass the ORM).

    Each row has ``action``, ``record_type``, ``record_id``, ``label`` and ``changes``;
    actor and channel come from the session.
    """
    actor_id, channel = _actor(session)
    now = utcnow()
    values = [{"at": now, "actor_id": actor_id, "channel": channel, **row} for row in rows]
    if values:
        session.connection().execute(insert(Change), values)


def _actor(session: Session) -> tuple[int | None, str]:
    channel = session.info.get("channel")
    if channel is None:
        raise RuntimeError("tracked change flushed without bind_actor(): who did it?")
    return session.info.get("actor_id"), str(channel)


def _label(obj: Base) -> str:
    if type(obj).__str__ is object.__str__:
        return ""  # Python's "<... object at 0x...>" names nothing a person knows
    return str(obj)[:300]


_PENDING = "groupware_history_rows"


def _collect(action: str, obj: Base, connection: Connection, mapper: Mapper[Any]) -> None:
    session = object_session(obj)
    if session is None or not _tracked(obj):
        return
    if action == "update":
        changes = _diff(obj, connection, mapper)
        if not changes:
            return
    else:
        changes = _snapshot(obj, old=action == "delete")
    session.info.setdefault(_PENDING, []).append(_row(action, obj, changes))


# Mapper events see every row the flush writes, including orphans deleted by cascade,
# which the session's pre-flush lists do not show. Updates are read just before they
# are written, while the old values can still be loaded if they were not.
def _after_insert(mapper: Mapper[Any], connection: Connection, target: Base) -> None:
    _collect("create", target, connection, mapper)


def _before_update(mapper: Mapper[Any], connection: Connection, target: Base) -> None:
    _collect("update", target, connection, mapper)


def _after_delete(mapper: Mapper[Any], connection: Connection, target: Base) -> None:
    _collect("delete", target, connection, mapper)


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    rows = session.info.pop(_PENDING, None)
    if rows:
        record(session, rows)


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def listen() -> None:
    """Record the changes of every record from now on (the history area's set-up; once
    is enough, again is harmless)."""
    for target, name, handler, propagate in (
        (Base, "after_insert", _after_insert, True),
        (Base, "before_update", _before_update, True),
        (Base, "after_delete", _after_delete, True),
        (Session, "after_flush", _after_flush, False),
        (Session, "after_rollback", _after_rollback, False),
    ):
        if not event.contains(target, name, handler):
            event.listen(target, name, handler, propagate=propagate)


def _parent(obj: Base) -> tuple[str, int, str] | None:
    """Where a part of a record is filed: ``__history_parent__`` is a tuple
    (record type, attribute holding its id, field name) or a method returning
    (record type, id, field name)."""
    parent = getattr(obj, "__history_parent__", None)
    if parent is None:
        return None
    if callable(parent):
        return parent()  # type: ignore[no-any-return]
    parent_type, key, field_name = parent
    return parent_type, int(getattr(obj, key)), field_name


def _row(action: str, obj: Base, changes: dict[str, list[Any]]) -> dict[str, Any]:
    parent = _parent(obj)
    if parent is not None:
        # A part of a record (a team's member, a user's role, a role's grant, a share)
        # is filed as a change of the record it belongs to.
        parent_type, parent_id, field_name = parent
        label = _label(obj)
        if action == "create":
            parts = {field_name: [None, label]}
        elif action == "delete":
            parts = {field_name: [label, None]}
        else:
            parts = {f"{field_name} {label}: {key}": value for key, value in changes.items()}
        return {
            "action": "update",
            "record_type": parent_type,
            "record_id": parent_id,
            "label": "",
            "changes": parts,
        }
    return {
        "action": action,
        "record_type": str(type(obj).__tablename__),
        "record_id": obj.id,  # type: ignore[attr-defined]
        "label": _label(obj),
        "changes": changes,
    }
