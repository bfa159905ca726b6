"""global search and the partner list: words indexes, the partner FTS table, gw_fold()

What the header's search (groupware.search) and the partner list's search look
through, made fast at a million partners:

* SQLite: FTS5 tables kept in step with their tables by triggers, so that every
  writer (the services, the imports' bulk writers, a CalDAV client's task, another
  program) is covered: ``search_partners`` (trigrams of the folded ``name_search``:
  any part of a name) and ``search_persons``, ``search_deals``, ``search_tasks``,
  ``search_documents`` (the words of names, titles and document numbers without
  diacritics, with prefix indexes).
* PostgreSQL: ``gw_fold(text)``, folding as ``groupware.crm.normalize.search_text``
  does (lower case, diacritics off, "đ" as "dj", punctuation as single spaces), and
  full-text indexes on the folded words of partners, persons, deals, tasks and
  document numbers (the partners' name has had a trigram index for the list since
  0002).

And the partner list's own search and filters: ``partners.city_search`` (the town
folded, what the city filter matches, on SQLite too), and indexes in the list's order
for the city, group and county filters, the name order's carrying what the access
test and the usual filters read (a search walks it without reading rows).

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-08 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

# The letters search_text() writes otherwise than Unicode's decomposition (NFKD) does
# (groupware.crm.normalize._SPECIAL), in both cases; tests/search/test_words.py holds
# gw_fold() against search_text() letter by letter over the Latin ranges.
SPECIAL = {
    "đ": "dj", "Đ": "dj", "ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae",
    "ø": "o", "Ø": "o", "ł": "l", "Ł": "l", "œ": "oe", "Œ": "oe",
}  # fmt: skip

# The searchable words of each table (groupware.search.words.Words).
WORDS = {
    "persons": ("first_name", "last_name", "email"),
    "deals": ("title",),
    "tasks": ("title",),
    "documents": ("number",),
}


def _joined(columns: tuple[str, ...], prefix: str = "") -> str:
    return " || ' ' || ".join(f"{prefix}{name}" for name in columns)


def _gw_fold() -> str:
    """What search_text() does, in SQL: lower case, the special letters, the Unicode
    decomposition with every letter outside ASCII then dropped (the accents, and what
    has no ASCII form), and runs of anything but letters and digits as one space.
    (A translate() of every accented letter instead cost 0.15 ms a call.)"""
    inner = "lower(value)"
    for letter, plain in SPECIAL.items():
        inner = f"replace({inner}, '{letter}', '{plain}')"
    return f"""
        CREATE OR REPLACE FUNCTION gw_fold(value text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT btrim(regexp_replace(lower(regexp_replace(normalize({inner}, NFKD),
                '[^\\x01-\\x7f]', '', 'g')), '[^0-9a-z]+', ' ', 'g'))
        $$"""


def _sqlite_words(name: str, columns: tuple[str, ...]) -> None:
    fts = f"search_{name}"
    new, old = _joined(columns, "new."), _joined(columns, "old.")
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5(words, content='', "
        "tokenize='unicode61 remove_diacritics 2', prefix='2 3')"
    )
    op.execute(f"INSERT INTO {fts} (rowid, words) SELECT id, {_joined(columns)} FROM {name}")  # noqa: S608 - our names
    op.execute(
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {name} BEGIN "  # noqa: S608 - our names
        f"INSERT INTO {fts} (rowid, words) VALUES (new.id, {new}); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {name} BEGIN "  # noqa: S608 - our names
        f"INSERT INTO {fts} ({fts}, rowid, words) VALUES ('delete', old.id, {old}); END"
    )
    op.execute(
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {', '.join(columns)} ON {name} "  # noqa: S608
        "BEGIN "
        f"INSERT INTO {fts} ({fts}, rowid, words) VALUES ('delete', old.id, {old}); "
        f"INSERT INTO {fts} (rowid, words) VALUES (new.id, {new}); END"
    )


def _sqlite_partners() -> None:
    # External content: the trigrams of partners.name_search, read back from the row to
    # check a LIKE pattern.
    op.execute(
        "CREATE VIRTUAL TABLE search_partners USING fts5(name_search, content='partners', "
        "content_rowid='id', tokenize='trigram')"
    )
    op.execute("INSERT INTO search_partners (search_partners) VALUES ('rebuild')")
    op.execute(
        "CREATE TRIGGER search_partners_insert AFTER INSERT ON partners BEGIN "
        "INSERT INTO search_partners (rowid, name_search) VALUES (new.id, new.name_search); END"
    )
    op.execute(
        "CREATE TRIGGER search_partners_delete AFTER DELETE ON partners BEGIN "
        "INSERT INTO search_partners (search_partners, rowid, name_search) "
        "VALUES ('delete', old.id, old.name_search); END"
    )
    op.execute(
        "CREATE TRIGGER search_partners_update AFTER UPDATE OF name_search ON partners BEGIN "
        "INSERT INTO search_partners (search_partners, rowid, name_search) "
        "VALUES ('delete', old.id, old.name_search); "
        "INSERT INTO search_partners (rowid, name_search) VALUES (new.id, new.name_search); END"
    )


# (name, columns) of the partner list's indexes before and after.
LIST_INDEXES_BEFORE = (
    ("ix_partners_name_search", ("name_search", "id")),
    ("ix_partners_group_id", ("group_id",)),
    ("ix_partners_county_id", ("county_id",)),
)
LIST_INDEXES = (
    ("ix_partners_listed", ("name_search", "id", "territory_id", "owner_id", "status", "kind")),
    ("ix_partners_group_id", ("group_id", "name_search", "id")),
    ("ix_partners_county_id", ("county_id", "name_search", "id")),
    ("ix_partners_city_search", ("city_search", "name_search", "id")),
)


def _partner_list(postgres: bool) -> None:
    # No batch mode: SQLite adds a column in place (a batch would copy the table, and
    # drop the triggers made below).
    op.add_column(
        "partners", sa.Column("city_search", sa.String(100), nullable=False, server_default="")
    )
    op.execute("UPDATE partners SET city_search = gw_fold(city) WHERE city != ''")
    if postgres:
        op.drop_index("ix_partners_city", table_name="partners")
    for name, _columns in LIST_INDEXES_BEFORE:
        op.drop_index(name, table_name="partners")
    for name, columns in LIST_INDEXES:
        op.create_index(name, "partners", list(columns))


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:
        op.execute(_gw_fold())
    _partner_list(postgres)
    if not postgres:
        _sqlite_partners()
        for name, columns in WORDS.items():
            _sqlite_words(name, columns)
        return
    for name, columns in WORDS.items():
        op.execute(
            f"CREATE INDEX ix_{name}_words ON {name} "
            f"USING gin (to_tsvector('simple', gw_fold({_joined(columns)})))"
        )
    # The partners' name is folded already (name_search).
    op.execute(
        "CREATE INDEX ix_partners_words ON partners USING gin (to_tsvector('simple', name_search))"
    )


def downgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if not postgres:
        for name in ("partners", *WORDS):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{name}_{event}")
            op.execute(f"DROP TABLE IF EXISTS search_{name}")
    for name in ("partners", *WORDS) if postgres else ():
        op.execute(f"DROP INDEX IF EXISTS ix_{name}_words")
    for name, _columns in LIST_INDEXES:
        op.drop_index(name, table_name="partners")
    for name, columns in LIST_INDEXES_BEFORE:
        op.create_index(name, "partners", list(columns))
    if postgres:
        op.create_index(
            "ix_partners_city", "partners", [sa.text("lower(city)"), "name_search", "id"]
        )
        op.execute("DROP FUNCTION IF EXISTS gw_fold(text)")
    op.drop_column("partners", "city_search")
