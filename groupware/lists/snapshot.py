"""What a deletion removes, kept so that it can be put back (the undo of a bulk delete).

:func:`take` reads, before records are deleted, every row the deletion will remove:
the records themselves, the rows whose foreign keys cascade from them (a partner's
persons, branches, reps and tags; their own children in turn), the values the
deletion empties (``ON DELETE SET NULL``: a task's partner) and the shares naming the
records. :func:`restore` writes them back through the ORM with their old ids (ids are
never reused, see ``groupware.db.never_reuse_ids``), table by table in the order of
their foreign keys, so the history records their return like any creation.

The foreign keys of ``Base.metadata`` say what cascades; nothing here knows an area. A
record that another row needs (``ON DELETE RESTRICT``: a partner's deals) is not
deleted at all: :func:`blocked` names those first. Rows that name a record by type and
id, without a foreign key (its notes and calls, the links of meetings to it, mail filed
on it), stay when it is deleted (its notes and calls seen by nobody while it is gone:
the access policy reads them through the record) and are in its stream again when it
comes back; of those only the shares go with the record, so they are kept here.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ForeignKey, Table, insert, select, tuple_
from sqlalchemy.orm import Mapper, Session

from groupware.access.models import Share
from groupware.access.policy import record_models
from groupware.db import Base

# Rows read per IN (...) list, well under what either database takes.
CHUNK = 500


def _references(table: Table) -> Iterator[tuple[Table, ForeignKey]]:
    """The foreign keys of other tables (and of ``table`` itself) pointing at ``table``."""
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table:
                yield other, fk


def _rule(fk: ForeignKey) -> str:
    return (fk.ondelete or "NO ACTION").upper()


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _plain(value: Any) -> Any:
    """A value as JSON keeps it; :func:`_typed` reads it back by the column's type."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _python_type(column: Any) -> type | None:
    kind = column.type
    # A decorated type (UTC timestamps) says what its underlying type holds.
    kind = getattr(kind, "impl_instance", kind)
    try:
        return kind.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return None


def _typed(column: Any, value: Any) -> Any:
    if value is None:
        return None
    kind = _python_type(column)
    if kind is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if kind is dt.date:
        return dt.date.fromisoformat(value)
    if kind is decimal.Decimal:
        return decimal.Decimal(value)
    if kind is bytes:
        return base64.b64decode(value)
    return value


def blocked(session: Session, model: type[Base], ids: Sequence[int]) -> set[int]:
    """The ids among ``ids`` that rows of other tables still need (their foreign key
    neither cascades nor empties): deleting those would fail."""
    table: Table = model.__table__  # type: ignore[assignment]
    found: set[int] = set()
    for other, fk in _references(table):
        if _rule(fk) in ("CASCADE", "SET NULL"):
            continue
        for chunk in _chunks(list(ids)):
            query = select(fk.parent).where(fk.parent.in_(chunk)).distinct()
            if other is table:  # a record pointing at another of the same deletion
                query = query.where(other.primary_key.columns[0].not_in(chunk))
            found.update(session.scalars(query))
    return found


def take(session: Session, model: type[Base], ids: Sequence[int]) -> dict[str, Any]:
    """Everything deleting the ``model`` records ``ids`` removes or empties, as JSON."""
    rows: dict[str, list[dict[str, Any]]] = {}
    emptied: list[dict[str, Any]] = []
    seen: set[tuple[str, tuple[Any, ...]]] = set()
    table: Table = model.__table__  # type: ignore[assignment]
    _collect(session, table, table.primary_key.columns[0], list(ids), rows, emptied, seen)
    return {"rows": rows, "emptied": emptied, "shares": _shares(session, rows)}


def _collect(
    session: Session,
    table: Table,
    column: Any,
    values: list[Any],
    rows: dict[str, list[dict[str, Any]]],
    emptied: list[dict[str, Any]],
    seen: set[tuple[str, tuple[Any, ...]]],
) -> None:
    key = list(table.primary_key.columns)
    found = []
    for chunk in _chunks(values):
        for row in session.execute(select(table).where(column.in_(chunk))).mappings():
            identity = (table.name, tuple(row[c.name] for c in key))
            if identity not in seen:
                seen.add(identity)
                found.append(row)
    if not found:
        return
    rows.setdefault(table.name, []).extend(
        {name: _plain(value) for name, value in row.items()} for row in found
    )
    for other, fk in _references(table):
        parents = [row[fk.column.name] for row in found]
        if _rule(fk) == "CASCADE":
            _collect(session, other, fk.parent, parents, rows, emptied, seen)
        elif _rule(fk) == "SET NULL":
            other_key = list(other.primary_key.columns)
            for chunk in _chunks(parents):
                query = select(*other_key, fk.parent).where(fk.parent.in_(chunk))
                for *ident, value in session.execute(query):
                    emptied.append(
                        {
                            "table": other.name,
                            "key": [_plain(v) for v in ident],
                            "column": fk.parent.name,
                            "value": _plain(value),
                        }
                    )


def _shares(session: Session, rows: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The shares of the records among ``rows`` (they name records by type and id, and
    go with a deleted record)."""
    found: list[dict[str, Any]] = []
    shared_types = record_models()
    table: Table = Share.__table__  # type: ignore[assignment]
    for name, table_rows in rows.items():
        if name not in shared_types:
            continue
        ids = [row["id"] for row in table_rows]
        for chunk in _chunks(ids):
            query = select(table).where(Share.record_type == name, Share.record_id.in_(chunk))
            found.extend(
                {k: _plain(v) for k, v in row.items()} for row in session.execute(query).mappings()
            )
    return found


def _mapper_of(table: Table) -> Mapper[Any] | None:
    for mapper in Base.registry.mappers:
        if mapper.local_table is table:
            return mapper
    return None


def _put_back(session: Session, table: Table, table_rows: list[dict[str, Any]]) -> None:
    mapper = _mapper_of(table)
    typed = [
        {c.name: _typed(c, row[c.name]) for c in table.columns if c.name in row}
        for row in table_rows
    ]
    if mapper is None:
        session.execute(insert(table), typed)
        return
    for values in typed:
        record = mapper.class_()
        for column in table.columns:
            if column.name in values:
                setattr(record, mapper.get_property_by_column(column).key, values[column.name])
        session.add(record)
    session.flush()


def restore(session: Session, snapshot: dict[str, Any]) -> None:
    """Write back what :func:`take` kept: the rows parents first, then the emptied
    values and the shares."""
    rows: dict[str, list[dict[str, Any]]] = snapshot["rows"]
    shares = Share.__table__
    for table in Base.metadata.sorted_tables:
        if table.name in rows:
            _put_back(session, table, rows[table.name])
    tables = Base.metadata.tables
    for item in snapshot["emptied"]:
        table = tables[item["table"]]
        key = list(table.primary_key.columns)
        column = table.c[item["column"]]
        values = [_typed(c, v) for c, v in zip(key, item["key"], strict=True)]
        mapper = _mapper_of(table)
        if mapper is not None:
            record = session.get(mapper.class_, tuple(values))
            if (
                record is not None
                and getattr(record, mapper.get_property_by_column(column).key) is None
            ):
                setattr(
                    record, mapper.get_property_by_column(column).key, _typed(column, item["value"])
                )
        else:
            session.execute(
                table.update()
                .where(tuple_(*key) == tuple(values), column.is_(None))
                .values({column.name: _typed(column, item["value"])})
            )
    if snapshot["shares"]:
        _put_back(session, shares, snapshot["shares"])  # type: ignore[arg-type]
    session.flush()
