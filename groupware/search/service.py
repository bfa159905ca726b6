"""Running the global search: each provider the areas declare, in their order, for the
records the user may see (see :mod:`groupware.search`)."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text, union_all
from sqlalchemy.orm import Session

from groupware import wiring
from groupware.access.policy import Who
from groupware.db import const
from groupware.records import record_url
from groupware.search import TYPING_LIMIT, Provider, Terms


@dataclass(frozen=True)
class Hit:
    title: str
    detail: str
    url: str


@dataclass(frozen=True)
class Group:
    """One provider's hits; ``more`` when there are more than shown, with ``more_url``
    the area's own list searched for the same words (empty when it has none)."""

    name: str
    label: Any
    hits: list[Hit]
    more: bool
    more_url: str


def providers() -> tuple[Provider, ...]:
    """The providers the areas declare, in their order."""
    return wiring.current().search_providers


def _url(provider: Provider, record_id: int) -> str:
    return (
        provider.url.format(id=record_id) if provider.url else record_url(provider.name, record_id)
    )


def search(session: Session, who: Who, typed: str, *, limit: int = TYPING_LIMIT) -> list[Group]:
    """What ``typed`` finds among the records ``who`` may see: one :class:`Group` per
    provider that found something, at most ``limit`` hits each.

    The providers' statements go to the database as one (``UNION ALL`` of each one's
    first ``limit + 1`` rows): one round trip and one plan per keystroke rather than
    one per kind of record, which cost more than most of the queries themselves."""
    terms = Terms.of(typed)
    if not terms:
        return []
    asked = providers()
    parts = []
    for number, provider in enumerate(asked):
        first = provider.rows(session, who, terms).limit(limit + 1).subquery()
        parts.append(select(const(number), *list(first.c)[:3]))
    found: dict[int, list[Any]] = {}
    for number, id_, title, detail in _run(session, union_all(*parts)):
        found.setdefault(number, []).append((id_, title, detail))
    groups = []
    for number, provider in enumerate(asked):
        rows = found.get(number)
        if not rows:
            continue
        hits = [
            Hit(str(title), str(detail or ""), _url(provider, id_))
            for id_, title, detail in rows[:limit]
        ]
        more_url = provider.more.format(q=urllib.parse.quote(terms.text)) if provider.more else ""
        groups.append(Group(provider.name, provider.label, hits, len(rows) > limit, more_url))
    return groups


def _run(session: Session, statement: Any) -> list[Any]:
    """Run the search's statement; on PostgreSQL without sequential scans. Every
    provider reads through an index, and PostgreSQL cannot tell how many partners have
    a word: it guessed 17,000 of a million for a word no name has, and chose to read
    the table until six of them turned up (2 s) over the full-text index (1 ms)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL enable_seqscan = off"))
    try:
        return list(session.execute(statement))
    finally:
        if postgres:
            session.execute(text("SET LOCAL enable_seqscan = on"))
