"""What a list page declares (see :mod:`groupware.lists`): a :class:`ListDef` of
:class:`Column` s and :class:`BulkAction` s, read by the engine, the export, the
templates and the bulk handlers; nothing here queries."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from groupware.access.policy import Who, pk_column

# How a column's value reads (the list's cell macro and the export follow these).
SHOWS = (
    "text",
    "link",
    "email",
    "number",
    "money",
    "percent",
    "date",
    "datetime",
    "choice",
    "yes_no",
)
# Query parameters every list reads itself; a list's filters take other names.
RESERVED = frozenset({"cols", "sort", "offset", "up", "down"})

# The records a list shows for ``who``: the page's filters (the query string's values,
# text as typed) applied and the access filter for ``action`` ("view", or "export" for
# the export). Raises Invalid on a filter it cannot use.
QueryFactory = Callable[[Who, Mapping[str, str], str], Select[Any]]
Join = Callable[[Select[Any]], Select[Any]]
# What a filter set from elsewhere reads as, for a person ("Phase: Offer"), from its
# value as typed; "" when the value names nothing ``who`` may see (nothing is shown).
Describe = Callable[[Session, Who, str], str]


@dataclass(frozen=True)
class Column:
    """One column a person may show.

    ``value`` is the SQL expression of the cell (over the list's model and the
    tables its ``join`` names). ``link`` makes the value a link: ``(pattern, id)``
    with ``{id}`` in the pattern filled by the SQL expression ``id``. A ``money``
    column reads its currency from ``currency``; ``total`` sums the column in the
    totals row (per currency). ``sort`` is the ORDER BY of the ascending order, when
    it is not the value itself (a name compared without its accents, an index's
    columns). ``badge`` is ``(code, labels)``: a chip after the value when the code
    has a label (a private person among companies, a late deal); ``code`` is a SQL
    expression or a function making one when the page is read (one comparing with
    today).
    """

    key: str
    label: Any
    value: Any
    show: str = "text"
    choices: Mapping[str, Any] = field(default_factory=dict)
    link: tuple[str, Any] | None = None
    currency: Any = None
    total: bool = False
    sort: tuple[Any, ...] = ()
    join: tuple[str, ...] = ()
    badge: tuple[Any, Mapping[str, Any]] | None = None
    overdue: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        if self.show not in SHOWS:
            raise ValueError(f"column {self.key}: unknown show {self.show!r}")
        if self.show == "money" and self.currency is None:
            raise ValueError(f"column {self.key}: an amount needs its currency")

    @property
    def numeric(self) -> bool:
        return self.show in ("number", "money", "percent")


# A bulk action's work on the chosen records' ids with the chosen value: what it needs
# to take the change back (JSON), or None when it cannot be undone. It loads every
# record through the access helpers and raises (nothing is kept) when one is refused.
# The undo puts back what it can and says how many records it put back.
Apply = Callable[[Session, Who, Sequence[int], str], Any]
Undo = Callable[[Session, Who, Any], int]
Choices = Callable[[Session, Who], Sequence[tuple[str, str]]]


@dataclass(frozen=True)
class BulkAction:
    """Something done to the chosen rows of a list at once, after a confirmation.

    ``choices`` lists the values to choose from (a new rep, a status), ``typed`` is
    the label of a value typed instead (a tag); an action with neither takes no value.
    ``undo`` takes back what ``apply`` returned."""

    name: str
    label: Any
    apply: Apply
    undo: Undo | None = None
    choices: Choices | None = None
    typed: Any = None
    value_label: Any = None
    danger: bool = False
    # Who may be offered it: a right of the list's module ("edit", "delete"); every
    # record is checked again when it runs.
    right: str = "edit"


@dataclass(frozen=True)
class ListDef:
    """A list page: its columns, its records, its default view and its bulk actions.

    ``query`` gives the records matching the page's ``filters`` (names of its query
    string) that the user may see; ``joins`` adds, by name, the outer joins the
    columns read from. Opened without any of its parameters, the page shows its
    default view: ``default_filters``, ``default_sort`` (a column key, ``-`` first for
    descending) and ``default_columns``. ``module`` is the access module whose
    "export" right lets a user export the list (None: the list has no export).
    ``row_class`` gives a SQL expression of a CSS class for a row (muted, late)."""

    name: str
    label: Any
    endpoint: str
    model: type[Any]
    columns: tuple[Column, ...]
    query: QueryFactory
    default_columns: tuple[str, ...]
    default_sort: str
    filters: tuple[str, ...] = ()
    # What a filter is called in the message about a value it cannot use.
    filter_labels: Mapping[str, Any] = field(default_factory=dict)
    # Filters the page's own form does not offer, which links from elsewhere set (the
    # dashboard's figures: a phase, a team, a period): the list says which of them are
    # applied, each with a link that drops it, and its forms carry them on.
    narrowing: Mapping[str, Describe] = field(default_factory=dict)
    default_filters: Mapping[str, str] = field(default_factory=dict)
    joins: Mapping[str, Join] = field(default_factory=dict)
    bulk: tuple[BulkAction, ...] = ()
    module: str | None = None
    page_size: int = 50
    row_class: Callable[[], Any] | None = None
    # More about each row of a page, shown under it: a template with a macro
    # ``details(item)`` and what reads the items of a page's ids.
    details: tuple[str, Callable[[Session, Who, Sequence[int]], Mapping[int, Any]]] | None = None
    # The column that names a record (a confirmation lists the chosen ones by it); by
    # default the first.
    title: str = ""
    # What tests and scripts find a row by (``data-testid``), when the list names it.
    row_testid: str = ""
    # How many records, in words ("3 partners"), for confirmations and messages.
    count: Callable[[int], str] = field(default=lambda n: str(n))
    # A page found by ids alone first, and only its rows read (``engine.page_statement``):
    # for a list whose order and usual filters an index answers, and whose ``query``
    # joins nothing its columns read (the rows are read from the model and ``joins``).
    ids_first: bool = False
    # The ids the filters can match at most, when a quicker lookup knows they are few
    # (None otherwise): the page is then read among them.
    few: Callable[[Session, Mapping[str, str]], list[int] | None] | None = None
    # Who may export a list without a ``module`` (None: nobody): everyone their own
    # mailbox, administrators the history.
    exporter: Callable[[Who], bool] | None = None

    def __post_init__(self) -> None:
        keys = [c.key for c in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"list {self.name}: two columns share a key")
        missing = {*self.default_columns, self.default_sort.lstrip("-"), self.title or keys[0]}
        missing -= set(keys)
        if missing:
            raise ValueError(f"list {self.name}: no column {sorted(missing)}")
        unknown = {j for c in self.columns for j in c.join} - set(self.joins)
        if unknown:
            raise ValueError(f"list {self.name}: no join {sorted(unknown)}")
        clash = RESERVED & set(self.filters)
        if clash:
            raise ValueError(f"list {self.name}: filters may not be called {sorted(clash)}")
        stray = set(self.narrowing) - set(self.filters)
        if stray:
            raise ValueError(f"list {self.name}: no filter {sorted(stray)} to narrow by")
        if len({a.name for a in self.bulk}) != len(self.bulk):
            raise ValueError(f"list {self.name}: two bulk actions share a name")

    @functools.cached_property
    def by_key(self) -> dict[str, Column]:
        return {c.key: c for c in self.columns}

    @property
    def key(self) -> Any:
        """The records' id column."""
        return pk_column(self.model)

    @property
    def title_column(self) -> Column:
        return self.by_key[self.title] if self.title else self.columns[0]

    @property
    def exportable(self) -> bool:
        return self.module is not None or self.exporter is not None

    def may_export(self, who: Who) -> bool:
        """The "export" right of the list's module, or what ``exporter`` says."""
        if self.module is not None:
            return who.can(self.module, "export")
        return self.exporter is not None and self.exporter(who)

    def action(self, name: str) -> BulkAction | None:
        return next((a for a in self.bulk if a.name == name), None)
