"""The shape of a list as a request asks for it: which columns in which order, the
sort, the filters and the page, read from the query string and written back as the
shortest query string that gives the same list.

A list opened without any of its parameters shows its default view (the deals list:
open deals by expected close). Any parameter of the list, even an empty filter
(``/deals?status=``), says the person shaped the list themselves; so the query string
of a shape that differs from the default view is never empty.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from groupware.i18n import _l
from groupware.lists.declare import RESERVED, ListDef

MAX_OFFSET = 1_000_000
MAX_FILTER = 200  # characters of one filter value


@dataclass(frozen=True)
class Shape:
    listdef: ListDef
    columns: tuple[str, ...]
    sort: str
    filters: Mapping[str, str]
    offset: int = 0
    # What the query string asked for that the list does not have (a sort by no column).
    errors: Mapping[str, str] = field(default_factory=dict)

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    @property
    def is_default(self) -> bool:
        d = self.listdef
        return (
            dict(self.filters) == dict(d.default_filters)
            and self.sort == d.default_sort
            and self.columns == d.default_columns
        )

    def pairs(self, *, offset: bool = True) -> list[tuple[str, str]]:
        """The query string's pairs: the filters, then the sort and columns where they
        differ from the default view, then the page."""
        d = self.listdef
        found = [(name, self.filters[name]) for name in d.filters if self.filters.get(name)]
        if self.sort != d.default_sort:
            found.append(("sort", self.sort))
        if self.columns != d.default_columns:
            found.append(("cols", ",".join(self.columns)))
        if not found and not self.is_default:
            # Without its default filters and nothing else: say so, or the bare address
            # would bring the default view back.
            found = [(name, "") for name in d.default_filters]
        if offset and self.offset:
            found.append(("offset", str(self.offset)))
        return found

    def query(self, **changes: Any) -> str:
        """The query string of this shape with ``changes`` (``sort``, ``offset``,
        ``columns``); a new sort or columns go back to the first page."""
        shape = self.changed(**changes)
        return urllib.parse.urlencode(shape.pairs())

    def changed(self, **changes: Any) -> Shape:
        if ("sort" in changes or "columns" in changes) and "offset" not in changes:
            changes["offset"] = 0
        return replace(self, **changes)

    def sort_link(self, key: str) -> str:
        """The query string that sorts by ``key``: ascending, or the other way round
        when the list is sorted by it already."""
        if self.sort_key == key:
            return self.query(sort=key if self.descending else "-" + key)
        return self.query(sort=key)

    def hidden(self, *, filters: bool = False, columns: bool = False) -> list[tuple[str, str]]:
        """What a form about one part of the shape carries of the rest: the sort, and
        the filters (the column chooser) or the columns and the filters the form does
        not offer (a filter form: those of ``ListDef.narrowing``)."""
        d = self.listdef
        carried = d.filters if filters else tuple(d.narrowing) if columns else ()
        pairs = [(name, self.filters[name]) for name in carried if self.filters.get(name)]
        if self.sort != d.default_sort:
            pairs.append(("sort", self.sort))
        if columns and self.columns != d.default_columns:
            pairs.append(("cols", ",".join(self.columns)))
        return pairs


def _columns(listdef: ListDef, values: Iterable[str]) -> tuple[str, ...]:
    known = listdef.by_key
    chosen: list[str] = []
    for value in values:
        for key in value.split(","):
            key = key.strip()
            if key in known and key not in chosen:
                chosen.append(key)
    return tuple(chosen)


def _moved(columns: tuple[str, ...], key: str, step: int) -> tuple[str, ...]:
    if key not in columns:
        return columns
    order = list(columns)
    index = order.index(key)
    other = index + step
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
    return tuple(order)


def read(listdef: ListDef, items: Iterable[tuple[str, str]]) -> Shape:
    """The shape a query string (its ``multi_items()``) asks for; unknown columns and
    sorts are left out, a list without any of its parameters shows its default view."""
    items = list(items)
    names = {name for name, _value in items}
    shaped = bool(names & (RESERVED | set(listdef.filters)))
    if shaped:
        filters = {
            name: value.strip()[:MAX_FILTER]
            for name, value in items
            if name in listdef.filters and value.strip()
        }
    else:
        filters = dict(listdef.default_filters)
    columns = _columns(listdef, (v for k, v in items if k == "cols")) or listdef.default_columns
    for name, step in (("up", -1), ("down", 1)):
        for key, value in items:
            if key == name:
                columns = _moved(columns, value, step)
    sort = next((v.strip() for k, v in reversed(items) if k == "sort"), "")
    errors = {}
    if sort.lstrip("-") not in listdef.by_key:
        if sort:
            errors["sort"] = str(_l("There is no such column to sort by."))
        sort = listdef.default_sort
    offset_text = next((v for k, v in reversed(items) if k == "offset"), "")
    offset = int(offset_text) if offset_text.isascii() and offset_text.isdigit() else 0
    return Shape(listdef, columns, sort, filters, min(offset, MAX_OFFSET), errors)


def default(listdef: ListDef) -> Shape:
    return read(listdef, ())
