"""Finding records by the starts of the words of their names, ignoring case and
diacritics, through an index on each database (made by migration 0022):

* SQLite: an FTS5 table ``search_<table>`` per kind of record (the ``unicode61``
  tokenizer without diacritics, with prefix indexes), kept in step with its table by
  triggers, so every writer (a service, an import, a CalDAV client's task) is covered;
* PostgreSQL: a full-text index (``simple`` configuration: words as they are) on the
  words folded by ``gw_fold()``, a SQL function that folds as
  :func:`groupware.crm.normalize.search_text` does; the typed words are prefixes
  (``kovac:*``). One posting list per word: a trigram index answered the same in
  several times the time (the lists of six trigrams intersected, every hit checked).

"kovac" and "Kovač" both find "Ivan Kovačević"; "iv kov" finds him too (every typed
word starts a word of the name). A provider adds the match to its statement with
:func:`matching`; on SQLite the FTS table then drives the query, so that the first
rows the user may see are found without reading the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Index, Select, column, func, literal_column, table, text
from sqlalchemy.orm import Session

from groupware.search import Terms

_ALNUM = re.compile(r"\w")
# The full-text configuration of words as they are (no stemming, no stop words),
# written into the SQL as the index has it.
SIMPLE: ColumnElement[Any] = literal_column("'simple'")


@dataclass(frozen=True)
class Words:
    """The searchable words of a table: ``columns`` joined by spaces."""

    table: str
    columns: tuple[str, ...]

    def index(self) -> Index:
        """The PostgreSQL full-text index of migration 0022, for the model's table args."""
        # Parenthesised as PostgreSQL writes the index back, so that autogenerate
        # finds the model and the database alike.
        joined = self.columns[0]
        for name in self.columns[1:]:
            joined = f"(({joined} || ' ') || {name})"
        if len(self.columns) > 1:
            joined = joined[1:-1]
        expression = text(f"to_tsvector('simple', gw_fold({joined}))")
        return Index(f"ix_{self.table}_words", expression, postgresql_using="gin").ddl_if(
            dialect="postgresql"
        )

    @property
    def fts(self) -> str:
        """The SQLite FTS5 table of migration 0022."""
        return f"search_{self.table}"

    def vector(self, model: Any) -> ColumnElement[Any]:
        """``to_tsvector('simple', gw_fold(col1 || ' ' || col2 ...))``: the expression of
        the PostgreSQL index (written the same way, so that the planner matches them)."""
        joined: Any = getattr(model, self.columns[0])
        for name in self.columns[1:]:
            joined = joined.op("||")(literal_column("' '")).op("||")(getattr(model, name))
        return func.to_tsvector(SIMPLE, func.gw_fold(joined))


def fts_query(terms: Terms) -> str:
    """The FTS5 query of ``terms`` on SQLite: every typed word as the start of a word.
    The tokenizer removes diacritics but keeps "đ" (which ``search_text`` writes as
    "dj"), so a word typed with "dj" also looks for "đ"."""
    parts = []
    for word in terms.text.lower().split():
        if not _ALNUM.search(word):
            continue
        variants = {word, word.replace("dj", "đ")}
        quoted = [f'"{v.replace(chr(34), chr(34) * 2)}"*' for v in sorted(variants)]
        parts.append(quoted[0] if len(quoted) == 1 else f"({' OR '.join(quoted)})")
    return " AND ".join(parts)


def matching(
    session: Session, words: Words, model: Any, query: Select[Any], terms: Terms
) -> Select[Any]:
    """``query`` (rows of ``model``) narrowed to the rows whose words start with the
    typed words."""
    if session.get_bind().dialect.name == "sqlite":
        wanted = fts_query(terms)
        fts = table(words.fts, column("rowid"))
        matched = literal_column(words.fts).op("MATCH")(wanted)
        return query.join(fts, fts.c.rowid == model.id).where(matched)
    # The folded words are letters and digits only: nothing in them means more to
    # to_tsquery() than a word.
    prefixes = " & ".join(f"{word}:*" for word in terms.words)
    return query.where(words.vector(model).op("@@")(func.to_tsquery(SIMPLE, prefixes)))
