"""global search: words indexes, the partner FTS table and gw_fold()

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
  trigram indexes on the folded words of persons, deals, tasks and document numbers
  (the partners' name has had one since 0002).

Revision ID: 0022
Revises: 0019
Create Date: 2026-12-08 16:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0022"
down_revision = "0019"
branch_labels = None
depends_on = None

# The letters search_text() folds, worked out from it once (Latin-1, Latin Extended-A
# and -B, Latin Extended Additional): single letters for translate(), letters it drops,
# and letters that become two. tests/search/test_words.py holds gw_fold() against
# search_text() over these ranges.
FOLD_FROM = (
    "\xa0¨ª¯²³´¸¹ºÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâ"
    "ãäåçèéêëìíîïñòóôõöøùúûüýÿĀāĂăĄąĆćĈĉĊċČčĎ"
    "ďĒēĔĕĖėĘęĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭĮįİĴĵĶķĹĺĻļĽľ"
    "ĿŀŁłŃńŅņŇňŉŌōŎŏŐőŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬ"
    "ŭŮůŰűŲųŴŵŶŷŸŹźŻżŽžſƠơƯưǍǎǏǐǑǒǓǔǕǖǗǘǙǚǛǜǞ"
    "ǟǠǡǦǧǨǩǪǫǬǭǰǴǵǸǹǺǻȀȁȂȃȄȅȆȇȈȉȊȋȌȍȎȏȐȑȒȓȔȕ"
    "ȖȗȘșȚțȞȟȦȧȨȩȪȫȬȭȮȯȰȱȲȳḀḁḂḃḄḅḆḇḈḉḊḋḌḍḎḏḐḑ"
    "ḒḓḔḕḖḗḘḙḚḛḜḝḞḟḠḡḢḣḤḥḦḧḨḩḪḫḬḭḮḯḰḱḲḳḴḵḶḷḸḹ"
    "ḺḻḼḽḾḿṀṁṂṃṄṅṆṇṈṉṊṋṌṍṎṏṐṑṒṓṔṕṖṗṘṙṚṛṜṝṞṟṠṡ"
    "ṢṣṤṥṦṧṨṩṪṫṬṭṮṯṰṱṲṳṴṵṶṷṸṹṺṻṼṽṾṿẀẁẂẃẄẅẆẇẈẉ"
    "ẊẋẌẍẎẏẐẑẒẓẔẕẖẗẘẙẚẛẠạẢảẤấẦầẨẩẪẫẬậẮắẰằẲẳẴẵ"
    "ẶặẸẹẺẻẼẽẾếỀềỂểỄễỆệỈỉỊịỌọỎỏỐốỒồỔổỖỗỘộỚớỜờ"
    "ỞởỠỡỢợỤụỦủỨứỪừỬửỮữỰựỲỳỴỵỶỷỸỹ"
)
FOLD_TO = (
    "  a 23  1oaaaaaaceeeeiiiinoooooouuuuyaaa"
    "aaaceeeeiiiinoooooouuuuyyaaaaaaccccccccd"
    "deeeeeeeeeegggggggghhiiiiiiiiijjkkllllll"
    "llllnnnnnnnoooooorrrrrrssssssssttttuuuuu"
    "uuuuuuuwwyyyzzzzzzsoouuaaiioouuuuuuuuuua"
    "aaaggkkoooojggnnaaaaaaeeeeiiiioooorrrruu"
    "uusstthhaaeeooooooooyyaabbbbbbccdddddddd"
    "ddeeeeeeeeeeffgghhhhhhhhhhiiiikkkkkkllll"
    "llllmmmmmmnnnnnnnnoooooooopppprrrrrrrrss"
    "ssssssssttttttttuuuuuuuuuuvvvvwwwwwwwwww"
    "xxxxyyzzzzzzhtwyasaaaaaaaaaaaaaaaaaaaaaa"
    "aaeeeeeeeeeeeeeeeeiiiioooooooooooooooooo"
    "oooooouuuuuuuuuuuuuuyyyyyyyy"
)
FOLD_DROP = (
    "\x80\x81\x82\x83\x84\x85\x86\x87\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x90\x91\x92\x93\x94\x95\x96\x97\x98\x99\x9a\x9b\x9c\x9d\x9e\x9f¡¢£¤¥¦§©"
    "«¬\xad®°±µ¶·»¿Ð×Þð÷þĦħıĸŊŋŦŧƀƁƂƃƄƅƆƇƈƉƊƋƌƍƎ"
    "ƏƐƑƒƓƔƕƖƗƘƙƚƛƜƝƞƟƢƣƤƥƦƧƨƩƪƫƬƭƮƱƲƳƴƵƶƷƸƹƺ"
    "ƻƼƽƾƿǀǁǂǃǝǢǣǤǥǮǯǶǷǼǽǾǿȜȝȠȡȢȣȤȥȴȵȶȷȸȹȺȻȼȽ"
    "ȾȿɀɁɂɃɄɅɆɇɈɉɊɋɌɍɎɏẜẝẟỺỻỼỽỾỿ"
)
FOLD_REPLACE = {
    "¼": "14",
    "½": "12",
    "¾": "34",
    "Æ": "ae",
    "ß": "ss",
    "æ": "ae",
    "Đ": "dj",
    "đ": "dj",
    "Ĳ": "ij",
    "ĳ": "ij",
    "Œ": "oe",
    "œ": "oe",
    "Ǆ": "dz",
    "ǅ": "dz",
    "ǆ": "dz",
    "Ǉ": "lj",
    "ǈ": "lj",
    "ǉ": "lj",
    "Ǌ": "nj",
    "ǋ": "nj",
    "ǌ": "nj",
    "Ǳ": "dz",
    "ǲ": "dz",
    "ǳ": "dz",
    "ẞ": "ss",
}

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
    inner = "value"
    for letter, plain in FOLD_REPLACE.items():
        inner = f"replace({inner}, '{letter}', '{plain}')"
    return f"""
        CREATE OR REPLACE FUNCTION gw_fold(value text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
            SELECT btrim(regexp_replace(regexp_replace(
                lower(translate({inner}, '{FOLD_FROM}{FOLD_DROP}', '{FOLD_TO}')),
                '[^\\x01-\\x7f]', '', 'g'), '[^0-9a-z]+', ' ', 'g'))
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


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _sqlite_partners()
        for name, columns in WORDS.items():
            _sqlite_words(name, columns)
        return
    op.execute(_gw_fold())
    for name, columns in WORDS.items():
        op.execute(
            f"CREATE INDEX ix_{name}_words ON {name} "
            f"USING gin ((' ' || gw_fold({_joined(columns)})) gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name in ("partners", *WORDS):
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER IF EXISTS search_{name}_{event}")
            op.execute(f"DROP TABLE IF EXISTS search_{name}")
        return
    for name in WORDS:
        op.execute(f"DROP INDEX IF EXISTS ix_{name}_words")
    op.execute("DROP FUNCTION IF EXISTS gw_fold(text)")
