"""The partner list page's own queries: the filter selects' options and the unassigned
queue's size (its rows come from the list's declaration, :mod:`groupware.crm.lists`,
through :mod:`groupware.lists.engine`).

The list must stay fast at a million partners: the small tables behind the filter
selects in one round trip, the queue counted only up to a cap, and on SQLite a search
for words few partners have looked up in the trigram table (:func:`few_matches`, which
the list's declaration hands the engine): walking the names in order would read the
whole index before it had a page of them.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Select, bindparam, case, func, literal, literal_column, select, union_all
from sqlalchemy.orm import Session

from groupware.accounts.models import User
from groupware.crm.models import County, Partner, PartnerGroup, Territory
from groupware.crm.partners import SEARCH_PARTNERS, name_trigrams

# The filter selects, in the order of their options' kinds in :func:`filter_options`.
OPTION_KINDS = ("group_options", "county_options", "territory_options", "rep_options")

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
