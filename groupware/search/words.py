"""Finding records by the starts of the words of their names, ignoring case and
diacritics, through an index on each database (made by migration 0022):

* SQLite: an FTS5 table ``search_<table>`` per kind of record (the ``unicode61``
  tokenizer without diacritics, with prefix indexes), kept in step with its table by
  triggers, so every writer (a service, an import, a CalDAV client's task) is covered;
* PostgreSQL: a trigram index on the words folded by ``gw_fold()`` (a SQL function
  that folds as :func:`groupware.crm.normalize.search_text` does).

"kovac" and "Kovač" both find "Ivan Kovačević"; "iv kov" finds him too (every typed
word starts a word of the name). A provider adds the match to its statement with
:func:`matching`; on SQLite the FTS table then drives the query, so that the first
rows the user may see are found without reading the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Index, Select, and_, column, func, literal_column, table, text
from sqlalchemy.orm import Session

from groupware.search import Terms

_ALNUM = re.compile(r"\w")


@dataclass(frozen=True)
class Words:
    """The searchable words of a table: ``columns`` joined by spaces."""

    table: str
    columns: tuple[str, ...]

    def index(self) -> Index:
        """The PostgreSQL trigram index of migration 0022, for the model's table args."""
        # Parenthesised as PostgreSQL writes the index back, so that autogenerate
        # finds the model and the database alike.
        joined = self.columns[0]
        for name in self.columns[1:]:
            joined = f"(({joined} || ' ') || {name})"
        if len(self.columns) > 1:
            joined = joined[1:-1]
        expression = text(f"(' ' || gw_fold({joined}))")
        return Index(
            f"ix_{self.table}_words",
            expression,
            postgresql_using="gin",
            postgresql_ops={expression.text: "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql")

    @property
    def fts(self) -> str:
        """The SQLite FTS5 table of migration 0022."""
        return f"search_{self.table}"

    def folded(self, model: Any) -> ColumnElement[str]:
        """``' ' || gw_fold(col1 || ' ' || col2 ...)``: the expression of the PostgreSQL
        trigram index (written the same way, so that the planner matches the two)."""
        joined: Any = getattr(model, self.columns[0])
        for name in self.columns[1:]:
            joined = joined.op("||")(literal_column("' '")).op("||")(getattr(model, name))
        return literal_column("' '").op("||")(func.gw_fold(joined))


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
    folded = words.folded(model)
    return query.where(and_(*(folded.like(f"% {word}%") for word in terms.words)))
