"""The header's global search: one box across the kinds of record the areas declare.

An area that wants its records found declares a :class:`Provider` in its ``area.py``
(``Area.search_providers``); ``groupware.wiring`` gathers them in the areas' order
and :mod:`groupware.search.service` asks each in turn. Nothing else needs to know
about a new kind of record.

A provider is a query: given the session, the acting user and the typed
:class:`Terms`, it answers a statement of the rows that match *and that the user may
see* (the access condition, ``groupware.access.policy.visible``, inside the
statement), each row ``(id, title, detail)``. The service adds the limit, so a
provider reads no more rows than are shown (and one more, which says "there are
more", with a link to the area's own list searched for the same words); nothing is
counted. A provider need not sort: the first rows found that the user may see are
what a person typing wants, and sorting would mean reading every match first.

Matching ignores case and diacritics, so "čakovec" and "cakovec" find "Čakovec
d.o.o." alike, and every typed word must start a word of the record's name or title
("čak prom" finds it too): the partners by their folded ``name_search`` column, the
other kinds as :mod:`groupware.search.words` says, all backed by indexes of migration
0022. (The lists' own searches, a link away, find any part of a word.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from groupware.crm.normalize import search_text

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlalchemy.orm import Session

    from groupware.access.policy import Who

MAX_WORDS = 5
MAX_LENGTH = 100
# Hits per kind of record: as the user types (the header's list) and on the results page.
TYPING_LIMIT = 5
PAGE_LIMIT = 20


@dataclass(frozen=True)
class Terms:
    """What a person typed, ready for matching: ``text`` as typed (trimmed, at most
    :data:`MAX_LENGTH` characters) and its folded ``words`` (at most :data:`MAX_WORDS`)."""

    text: str
    words: tuple[str, ...]

    @classmethod
    def of(cls, typed: str) -> Terms:
        text = " ".join(typed.split())[:MAX_LENGTH]
        return cls(text, tuple(search_text(text).split()[:MAX_WORDS]))

    def __bool__(self) -> bool:
        return bool(self.words)


@dataclass(frozen=True)
class Provider:
    """One kind of record the global search looks through.

    ``rows(session, who, terms)`` answers a statement of ``(id, title, detail)`` rows
    that match ``terms`` among the records ``who`` may see, without a limit. ``name`` is
    the record type (its page is where a hit leads) unless ``url`` (with ``{id}``) says
    otherwise; ``more`` is the area's own list searched for the same words (with
    ``{q}``), empty when there is none. Every user is asked: a user without a module's
    rights may still see records shared with them.
    """

    name: str
    label: Any
    rows: Callable[[Session, Who, Terms], Select[Any]]
    url: str = ""
    more: str = ""
    order: int = 100
