"""Backups: a consistent snapshot of the database and the data directory in one file.

The archive (``.tar.gz``) holds ``manifest.json`` (format, schema revision, tables and
their columns), one JSON-lines file per table read inside a single snapshot
transaction (repeatable read on PostgreSQL, one read transaction on SQLite), and the
data directory (file blobs, search index, secret key) without the SQLite database
itself. Because rows are stored portably, a backup restores into SQLite or PostgreSQL
alike, so it also moves an install from one to the other.

``restore`` only writes into an empty install: it brings the schema to the backup's
revision, inserts every table in dependency order, resets PostgreSQL sequences, copies
the data directory back and then upgrades to the newest schema.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Date, DateTime, Integer, LargeBinary, Numeric, Table, func, insert, select
from sqlalchemy.engine import Connection

from groupware.db import Base, Database, utcnow
from groupware.errors import CommandError
from groupware.migrate import current_revision, upgrade, upgrade_schema

FORMAT = 1
_SKIP_DATA = {"groupware.db", "groupware.db-wal", "groupware.db-shm", "backups"}


class BackupError(CommandError):
    """The backup cannot be written or restored; the message is one line (the command
    prints it as its error)."""


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _decoder(table: Table, name: str) -> Any:
    column_type = table.c[name].type
    impl = getattr(column_type, "impl", column_type)
    if isinstance(impl, DateTime):
        return dt.datetime.fromisoformat
    if isinstance(impl, Date):
        return dt.date.fromisoformat
    if isinstance(impl, Numeric) and getattr(impl, "asdecimal", False):
        return decimal.Decimal
    if isinstance(impl, LargeBinary):
        return base64.b64decode
    return None


def _data_files(data_dir: Path) -> Iterator[Path]:
    if not data_dir.exists():
        return
    for path in sorted(data_dir.iterdir()):
        if path.name not in _SKIP_DATA:
            yield path


def backup(database: Database, target: Path | None = None) -> Path:
    """Write a backup archive and return its path."""
    settings = database.settings
    if target is None:
        stamp = utcnow().strftime("%Y%m%d-%H%M%S")
        target = settings.data_dir / "backups" / f"groupware-{stamp}.tar.gz"
    # A backup holds password and token hashes and the secret key: owner only.
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = _dump_tables(database, folder)
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
        partial = target.with_name(target.name + ".partial")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as archive:
            archive.add(folder / "manifest.json", "manifest.json")
            archive.add(folder / "db", "db")
            for path in _data_files(settings.data_dir):
                archive.add(path, f"data/{path.name}")
        partial.replace(target)
    return target


def _dump_tables(database: Database, folder: Path) -> dict[str, Any]:
    (folder / "db").mkdir()
    tables: dict[str, Any] = {}
    engine = database.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            revision = _revision(conn)
            for table in Base.metadata.sorted_tables:
                columns = [c.name for c in table.columns]
                count = 0
                with (folder / "db" / f"{table.name}.jsonl").open("w", encoding="utf-8") as out:
                    result = conn.execution_options(yield_per=2000).execute(
                        select(table).order_by(*table.primary_key.columns)
                    )
                    for row in result:
                        out.write(json.dumps([_encode(v) for v in row], ensure_ascii=False))
                        out.write("\n")
                        count += 1
                tables[table.name] = {"columns": columns, "rows": count}
    return {
        "format": FORMAT,
        "created_at": utcnow().isoformat(),
        "revision": revision,
        "dialect": engine.dialect.name,
        "tables": tables,
    }


def _revision(conn: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(conn).get_current_revision()


def restore(database: Database, source: Path) -> dict[str, int]:
    """Restore ``source`` into this (empty) install; returns rows per table."""
    if not source.is_file():
        raise BackupError(f"{source} does not exist")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            with tarfile.open(source, "r:gz") as archive:
                archive.extractall(folder, filter="data")
            manifest = json.loads((folder / "manifest.json").read_text())
        except (tarfile.TarError, OSError, ValueError) as exc:
            raise BackupError(f"{source} is not a groupware backup: {exc}") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(
                f"{source} has backup format {manifest.get('format')}, expected {FORMAT}"
            )
        _check_empty(database)
        upgrade_schema(database, manifest["revision"] or "base")
        counts = _load_tables(database, folder, manifest)
        _restore_data(folder / "data", database.settings.data_dir)
    upgrade(database)
    return counts


def _check_empty(database: Database) -> None:
    if current_revision(database.engine) is None:
        return
    with database.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            try:
                count = conn.execute(select(func.count()).select_from(table)).scalar()
            except Exception:
                conn.rollback()
                continue
            # `migrate` itself makes the built-in roles (and their history).
            if count and table.name not in {"roles", "grants", "history"}:
                raise BackupError(
                    f"the database is not empty (table {table.name} has rows); "
                    "restore into a fresh install"
                )


def _load_tables(database: Database, folder: Path, manifest: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with database.engine.begin() as conn:
        # Built-in roles made by `migrate` are replaced by those of the backup.
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in manifest["tables"]:
                conn.execute(table.delete())
        for table in Base.metadata.sorted_tables:
            info = manifest["tables"].get(table.name)
            if info is None:
                continue
            counts[table.name] = _load_table(
                conn, table, folder / "db" / f"{table.name}.jsonl", info["columns"]
            )
        if conn.dialect.name == "postgresql":
            _reset_sequences(conn)
    return counts


def _load_table(conn: Connection, table: Table, path: Path, columns: list[str]) -> int:
    known = [c for c in columns if c in table.c]
    decoders = {name: _decoder(table, name) for name in known}
    batch: list[dict[str, Any]] = []
    count = 0
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            values = dict(zip(columns, json.loads(line), strict=True))
            row = {}
            for name in known:
                value = values[name]
                decode = decoders[name]
                row[name] = decode(value) if decode is not None and value is not None else value
            batch.append(row)
            if len(batch) >= 1000:
                conn.execute(insert(table), batch)
                count += len(batch)
                batch = []
    if batch:
        conn.execute(insert(table), batch)
        count += len(batch)
    return count


def _reset_sequences(conn: Connection) -> None:
    for table in Base.metadata.sorted_tables:
        if "id" not in table.c or not isinstance(table.c.id.type, Integer):
            continue
        highest = select(func.max(table.c.id)).scalar_subquery()
        sequence = func.pg_get_serial_sequence(table.name, "id")
        conn.execute(select(func.setval(sequence, func.coalesce(highest, 0) + 1, False)))


def _restore_data(source: Path, data_dir: Path) -> None:
    if not source.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        destination = data_dir / path.name
        if path.is_dir():
            shutil.copytree(path, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(path, destination)
