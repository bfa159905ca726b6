"""The unique values an import has met so far, kept on disk.

An import refuses a row that repeats a key (an OIB, an external id, an e-mail, a
document number) of an earlier row of the same file. Held in Python sets, those values
grew the import's memory by about 100 MB per million rows; here they live in a scratch
SQLite file beside the upload, deleted when the pass ends, so memory stays flat
however long the file is (SQLite keeps a page cache of :data:`CACHE_KB`; the rest is
the operating system's file cache, not the process's).

Rows are checked a batch at a time: one statement looks up the batch's values, the
repeats within the batch are found in a dictionary of the batch, and one statement
records the values of the rows that were kept. Both pass the batch as one JSON
parameter: an ``executemany`` releases the interpreter lock for every row and, with
the writing thread busy, waits a time slice to get it back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

CACHE_KB = 8192

# A value is (name number, value): the name is the position in the writer's tuple of
# unique names, the value an int (OIBs, a third of the space of their text) or text.
Value = tuple[int, Any]


class SeenKeys:
    """A scratch table of (name, value) -> the row that first had it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.unlink(missing_ok=True)  # left by a pass whose process died
        path.touch(mode=0o600)  # it holds the file's OIBs and e-mail addresses
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "journal_mode = OFF",
            "synchronous = OFF",
            "locking_mode = EXCLUSIVE",
            f"cache_size = -{CACHE_KB}",
            "temp_store = FILE",
        ):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute(
            "CREATE TABLE seen (name INTEGER, value, row INTEGER, PRIMARY KEY (name, value))"
            " WITHOUT ROWID"
        )

    def first_rows(self, rows: Sequence[tuple[int, Sequence[Value]]]) -> dict[int, tuple[int, int]]:
        """For each row (number, its values) that repeats a value of an earlier row,
        (name number, the earlier row); records the values of the other rows."""
        wanted = [[name, value] for _number, values in rows for name, value in values]
        if not wanted:
            return {}
        earlier: dict[Value, int] = {
            (name, value): row
            for name, value, row in self.conn.execute(
                "SELECT s.name, s.value, s.row FROM json_each(?) AS j "
                "JOIN seen AS s ON s.name = j.value ->> 0 AND s.value = j.value ->> 1",
                (orjson.dumps(wanted),),
            )
        }
        repeats: dict[int, tuple[int, int]] = {}
        kept: dict[Value, int] = {}
        for number, values in rows:
            for value in values:
                first = earlier.get(value) or kept.get(value)
                if first is not None:
                    repeats[number] = (value[0], first)
                    break
            else:
                for value in values:
                    kept[value] = number
        if kept:
            self.conn.execute(
                "INSERT INTO seen (name, value, row) "
                "SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2 FROM json_each(?) AS j",
                (orjson.dumps([[name, value, row] for (name, value), row in kept.items()]),),
            )
        return repeats

    def close(self) -> None:
        self.conn.close()
        self.path.unlink(missing_ok=True)
