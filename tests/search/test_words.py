"""The database folds as Python does: ``gw_fold()`` (migration 0022 on PostgreSQL, the
Python function on SQLite) answers what ``search_text`` answers, letter by letter over
the Latin ranges, so that a word typed without diacritics finds what the index holds."""

from __future__ import annotations

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from groupware.crm.normalize import search_text
from groupware.search import Terms
from groupware.search.words import fts_query

LATIN = [*range(0x20, 0x250), *range(0x1E00, 0x1F00)]


def test_gw_fold_folds_every_latin_letter_as_search_text(db: Session) -> None:
    samples = [f"A{chr(cp)}b {chr(cp).upper()}z" for cp in LATIN if chr(cp).isprintable()]
    samples += ["  Čakovečki MLINOVI d.d. ", "Đurđević-Šimić, Žminj", "Straße Æbelø Œuvre", ""]
    wrong = []
    for start in range(0, len(samples), 200):
        chunk = samples[start : start + 200]
        folded = db.execute(select(*(func.gw_fold(literal(s)) for s in chunk))).one()
        wrong += [(s, got) for s, got in zip(chunk, folded, strict=True) if got != search_text(s)]
    assert not wrong, wrong[:10]


def test_typed_words_become_word_starts_for_sqlite_fts() -> None:
    assert fts_query(Terms.of("Kovač  iv")) == '"kovač"* AND "iv"*'
    assert fts_query(Terms.of("djuro")) == '("djuro"* OR "đuro"*)'
    assert fts_query(Terms.of('say "hi" -- ?')) == '"say"* AND """hi"""*'
