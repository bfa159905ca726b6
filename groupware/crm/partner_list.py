"""The partner list page's queries: one page of rows, the filter selects' options and
the unassigned queue's size.

The list must stay fast at a million partners: one query for the page of rows (one
more than a page, to know whether there is a next page; nothing is counted), plain
columns rather than partner objects, and the small tables behind the filter selects in
one round trip.

The page is found first by ids alone, and only its rows are read: walking the list's
order (``ix_partners_listed`` for the names) with the search, the access test and the
usual filters all answered from the index, a rep's search for a common word looks at
ten thousand index entries rather than ten thousand rows, and page 3 skips its first
hundred rows in the index. On SQLite a search for words few partners have is looked
up in the trigram table instead (:func:`few_matches`): walking the names in order would
read the whole index before it had a page of them.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from typing import Any

from sqlalchemy import (
    Integer,
    Row,
    Select,
    bindparam,
    case,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from groupware.access.policy import Who
from groupware.accounts.models import User
from groupware.crm.models import County, Partner, PartnerGroup, Territory
from groupware.crm.partner_export import join_names
from groupware.crm.partners import (
    SEARCH_PARTNERS,
    SORTS,
    PartnerFilter,
    name_trigrams,
    partner_query,
)
from groupware.db import const

PAGE_SIZE = 50
MAX_OFFSET = 1_000_000
# What a row of the list shows: plain columns, cheaper to load than partner objects.
LIST_COLUMNS = (
    Partner.id,
    Partner.name,
    Partner.kind,
    Partner.oib,
    Partner.city,
    Partner.status,
    County.name.label("county"),
    PartnerGroup.name.label("group"),
    User.full_name.label("rep"),
    Territory.name.label("territory"),
)
# The filter selects, in the order of their options' kinds in :func:`filter_options`.
OPTION_KINDS = ("group_options", "county_options", "territory_options", "rep_options")


def list_page(session: Session, who: Who, f: PartnerFilter, *, offset: int = 0) -> list[Row[Any]]:
    """Rows of :data:`LIST_COLUMNS` for the partners ``who`` may see that match ``f``,
    from ``offset`` (capped at :data:`MAX_OFFSET`): up to ``PAGE_SIZE + 1`` of them."""
    offset = max(0, min(offset, MAX_OFFSET))
    few = few_matches(session, f.q)
    params: dict[str, Any] = {"offset": offset}
    if few is not None:
        params["few"] = few
    query = page_query(who, f, few=few is not None)
    return list(session.execute(query, params).all())


# Up to how many partners a search may match for SQLite to read them from the trigram
# table and sort them, rather than walk the names in order.
FEW = 2000


def few_matches(session: Session, typed: str) -> list[int] | None:
    """The ids of the partners whose names have the words of ``typed``, when they are at
    most :data:`FEW` (SQLite only: its trigram table answers a common word's first rows
    at once); None otherwise."""
    trigrams = name_trigrams(typed)
    if not trigrams or session.get_bind().dialect.name != "sqlite":
        return None
    ids = list(session.scalars(_few_query(), {"trigrams": trigrams, "cap": FEW + 1}))
    return ids if len(ids) <= FEW else None


@functools.cache
def _few_query() -> Select[Any]:
    fts = SEARCH_PARTNERS
    matched = literal_column(fts.name).op("MATCH")(bindparam("trigrams"))
    return select(fts.c.rowid).where(matched).limit(bindparam("cap"))


_page_queries: OrderedDict[tuple[int, tuple[Any, ...]], tuple[Who, Select[Any]]] = OrderedDict()
_page_queries_lock = threading.Lock()
PAGE_QUERIES_KEPT = 256


def page_query(who: Who, f: PartnerFilter, *, few: bool = False) -> Select[Any]:
    """The statement of a list page for ``who`` and ``f`` (the ``offset`` is given when
    it runs); with ``few``, the search's matches are given as the ids ``few`` too.

    Recently used ones are kept and used again: SQLAlchemy remembers the cache key of a
    statement object, and working it out anew for every request cost about as much as
    PostgreSQL spends running the query. An entry holds its ``who``: rights that change
    give a new ``Who``, so a new entry."""
    key = (id(who), (*f.model_dump().values(), few))
    with _page_queries_lock:
        kept = _page_queries.get(key)
        if kept is not None and kept[0] is who:
            _page_queries.move_to_end(key)
            return kept[1]
    matching = partner_query(who, f)
    if few:
        matching = matching.where(Partner.id.in_(bindparam("few", expanding=True)))
    # The offset is written into the SQL too (an int, capped at MAX_OFFSET): with it as a
    # parameter PostgreSQL's generic plan must guess it, looks dearer than a custom plan,
    # and every execution is planned again (0.35 ms of a 1 ms query).
    offset = bindparam("offset", type_=Integer(), literal_execute=True)
    ids = matching.with_only_columns(Partner.id).offset(offset).limit(const(PAGE_SIZE + 1))
    page = ids.subquery("page")
    query = join_names(select(*LIST_COLUMNS).join(page, page.c.id == Partner.id))
    query = query.order_by(*SORTS[f.sort])
    with _page_queries_lock:
        _page_queries[key] = (who, query)
        if len(_page_queries) > PAGE_QUERIES_KEPT:
            _page_queries.popitem(last=False)
    return query


@functools.cache
def _options_query() -> Select[Any]:
    """The options of every filter select in one statement, built once per process."""
    active = literal("")
    inactive = case((User.is_active, active), else_=literal("inactive"))
    options = union_all(
        select(literal(OPTION_KINDS[0]).label("kind"), PartnerGroup.id, PartnerGroup.name, active),
        select(literal(OPTION_KINDS[1]), County.id, County.name, active),
        select(literal(OPTION_KINDS[2]), Territory.id, Territory.name, active),
        select(literal(OPTION_KINDS[3]), User.id, User.full_name, inactive),
    ).subquery()
    return select(options).order_by(*options.c[:1], options.c[3], options.c[2])


def filter_options(session: Session) -> dict[str, list[tuple[int, str, bool]]]:
    """The options of the filter selects (groups, counties, territories, reps) as
    ``(id, name, inactive)``, read in one round trip; inactive users come last."""
    found: dict[str, list[tuple[int, str, bool]]] = {kind: [] for kind in OPTION_KINDS}
    for kind, option_id, name, extra in session.execute(_options_query()):
        found[kind].append((option_id, name, bool(extra)))
    return found


def unassigned_waiting(session: Session, *, cap: int) -> int:
    """How many partners wait in the unassigned queue, counted up to ``cap + 1`` (the
    caller decides who may know: those who see all partners)."""
    waiting = (
        select(Partner.id)
        .where(Partner.owner_id.is_(None), Partner.status != "merged")
        .limit(cap + 1)
        .subquery()
    )
    return int(session.scalar(select(func.count()).select_from(waiting)) or 0)
