"""The queries of a shaped list: one page of rows, the totals row, the export's rows.

A page is one statement: the list's own query (its filters and the access filter)
with only the chosen columns selected, the joins those columns need, the chosen order
and the page (one row more than a page, to know whether there is a next one; nothing
is counted). The partner list must stay fast at a million partners: the columns it
sorts by by default have indexes the order walks (``Column.sort``), and statements are
kept and used again (see :func:`page_statement`).

The totals row sums each amount column over every row the filters match that the user
may see (not only the page), per currency.
"""

from __future__ import annotations

import decimal
import threading
import types
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Integer, Row, Select, bindparam, func, select
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.db import const
from groupware.i18n import today
from groupware.lists.declare import Column, ListDef
from groupware.lists.shape import Shape

EXPORT_BATCH = 2000
CENT = decimal.Decimal("0.01")


def chosen(shape: Shape) -> list[Column]:
    """The shape's columns, in its order."""
    by_key = shape.listdef.by_key
    return [by_key[key] for key in shape.columns]


def _values(listdef: ListDef, columns: Sequence[Column]) -> list[Any]:
    """What a row selects: its id, each column's value and what the cell needs besides
    (the id its link names, its currency, its badge's code, the dates that make it
    late), and the row's class."""
    values = [listdef.key.label("row__id")]
    for column in columns:
        values.append(column.value.label(column.key))
        if column.link is not None:
            values.append(column.link[1].label(f"{column.key}__id"))
        if column.currency is not None:
            values.append(column.currency.label(f"{column.key}__cur"))
        if column.badge is not None:
            code = column.badge[0]
            code = code() if isinstance(code, types.FunctionType) else code
            values.append(code.label(f"{column.key}__badge"))
        for index, day in enumerate(column.overdue):
            values.append(day.label(f"{column.key}__late{index}"))
    if listdef.row_class is not None:
        values.append(listdef.row_class().label("row__class"))
    return values


def _joined(listdef: ListDef, query: Select[Any], columns: Sequence[Column]) -> Select[Any]:
    """``query`` from the list's model, with the joins ``columns`` read from (in the
    order the list declares them: a join may build on one before it)."""
    needed = {name for column in columns for name in column.join}
    query = query.select_from(listdef.model)
    for name, join in listdef.joins.items():
        if name in needed:
            query = join(query)
    return query


def order(shape: Shape) -> list[Any]:
    """The ORDER BY of the shape's sort: the column's own order (with the record's id
    last, so pages never overlap), empty values last either way."""
    listdef = shape.listdef
    column = listdef.by_key[shape.sort_key]
    if column.sort:
        return [e.desc() if shape.descending else e for e in column.sort]
    value = column.value.desc() if shape.descending else column.value.asc()
    key = listdef.key.desc() if shape.descending else listdef.key
    return [value.nulls_last(), key]


def rows_statement(
    shape: Shape, who: Who, *, action: str = "view", extra: Sequence[Column] = ()
) -> Select[Any]:
    """The rows of the shape (every one, in order) for ``who``: for the page and the
    export (``action="export"``). ``extra`` columns are selected too (a bulk
    confirmation names its records by the list's first column)."""
    listdef = shape.listdef
    columns = [*chosen(shape), *(c for c in extra if c.key not in shape.columns)]
    sort_column = listdef.by_key[shape.sort_key]
    base = listdef.query(who, shape.filters, action)
    query = base.with_only_columns(*_values(listdef, columns))
    query = _joined(listdef, query, [*columns, sort_column])
    return query.order_by(None).order_by(*order(shape))


_statements: OrderedDict[tuple[Any, ...], tuple[Who, Select[Any]]] = OrderedDict()
_statements_lock = threading.Lock()
STATEMENTS_KEPT = 256


def page_statement(shape: Shape, who: Who, *, few: bool = False) -> Select[Any]:
    """The statement of a page of the shape for ``who`` (the offset given when it runs;
    with ``few``, the ids the rows are among too, as ``few``).

    With the list's ``ids_first``, the page is found by ids alone and only its rows are
    read: the partner list walks its order's index (``ix_partners_listed`` for the
    names) with the search, the access test and the usual filters answered from the
    index, so a rep's search for a common word looks at ten thousand index entries
    rather than ten thousand rows, and page 3 skips its first hundred rows in the index.

    Recently used ones are kept and used again: SQLAlchemy remembers the cache key of a
    statement object, and working it out anew for every request cost about as much as
    PostgreSQL spends running the partner list's query. An entry holds its ``who``:
    rights that change give a new ``Who``, so a new entry."""
    listdef = shape.listdef
    filters = tuple(sorted(shape.filters.items()))
    # Today is part of the key: a row's class or badge may compare with it (late deals).
    key = (listdef.name, id(who), filters, shape.columns, shape.sort, today(), few)
    with _statements_lock:
        kept = _statements.get(key)
        if kept is not None and kept[0] is who:
            _statements.move_to_end(key)
            return kept[1]
    # The offset is written into the SQL (an int, capped): as a parameter PostgreSQL's
    # generic plan would have to guess it and plan every execution again.
    offset = bindparam("offset", type_=Integer(), literal_execute=True)
    limit = const(listdef.page_size + 1)
    among = listdef.key.in_(bindparam("few", expanding=True)) if few else None
    if listdef.ids_first:
        sort_column = listdef.by_key[shape.sort_key]
        base = listdef.query(who, shape.filters, "view")
        if among is not None:
            base = base.where(among)
        ids = _joined(listdef, base.with_only_columns(listdef.key), [sort_column])
        ids = ids.order_by(None).order_by(*order(shape)).offset(offset).limit(limit)
        found = ids.subquery("page")
        columns = [*chosen(shape), sort_column]
        query = _joined(listdef, select(*_values(listdef, chosen(shape))), columns)
        query = query.join(found, found.c[0] == listdef.key).order_by(*order(shape))
    else:
        query = rows_statement(shape, who)
        if among is not None:
            query = query.where(among)
        query = query.offset(offset).limit(limit)
    with _statements_lock:
        _statements[key] = (who, query)
        if len(_statements) > STATEMENTS_KEPT:
            _statements.popitem(last=False)
    return query


def page(session: Session, shape: Shape, who: Who) -> list[Row[Any]]:
    """Up to ``page_size + 1`` rows of the shape from its offset (among the list's
    ``few`` ids when it knows them)."""
    listdef = shape.listdef
    few = listdef.few(session, shape.filters) if listdef.few is not None else None
    params: dict[str, Any] = {"offset": shape.offset}
    if few is not None:
        params["few"] = few
    statement = page_statement(shape, who, few=few is not None)
    return list(session.execute(statement, params).all())


def rows_by_id(
    session: Session, shape: Shape, who: Who, ids: Sequence[int], *, extra: Sequence[Column] = ()
) -> list[Row[Any]]:
    """The rows of ``ids`` among those the shape's filters match for ``who`` (what a
    bulk confirmation lists)."""
    query = rows_statement(shape, who, extra=extra)
    return list(session.execute(query.where(shape.listdef.key.in_(list(ids)))).all())


def _amount(value: Any, money: bool) -> decimal.Decimal:
    """A sum from the database (SQLite may hand back a float or an int)."""
    amount = decimal.Decimal(str(value or 0))
    return amount.quantize(CENT) if money else amount


def totals(session: Session, shape: Shape, who: Who) -> dict[str, list[tuple[str, Any]]]:
    """For each chosen amount column, its sum over every row the filters match that
    ``who`` may see: ``[(currency, sum)]`` (one pair with currency "" for a column
    without one), largest first. The columns of one currency are summed in one pass
    over the rows (the deals' amount and weighted amount: one scan, not two)."""
    listdef = shape.listdef
    groups: dict[int, list[Column]] = {}
    for column in chosen(shape):
        if column.total:
            groups.setdefault(id(column.currency), []).append(column)
    found: dict[str, list[tuple[str, Any]]] = {}
    for columns in groups.values():
        base: Select[Any] = listdef.query(who, shape.filters, "view").order_by(None)
        # PostgreSQL refuses a constant in GROUP BY: without a currency, one sum.
        kept = columns[0].currency
        currency = const("") if kept is None else kept
        sums = [func.sum(column.value) for column in columns]
        query = _joined(listdef, base.with_only_columns(currency, *sums), columns)
        if kept is not None:
            query = query.group_by(kept)
        rows = session.execute(query).all()
        for index, column in enumerate(columns, start=1):
            money = column.show == "money"
            pairs = [(str(row[0] or ""), _amount(row[index], money)) for row in rows]
            found[column.key] = sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
    return found


def export_rows(session: Session, shape: Shape, who: Who) -> Iterator[Sequence[Row[Any]]]:
    """Every row of the shape ``who`` may export, in batches (a server-side cursor on
    PostgreSQL: a million rows never sit in memory)."""
    query = rows_statement(shape, who, action="export")
    result = session.execute(query, execution_options={"yield_per": EXPORT_BATCH})
    yield from result.partitions()
