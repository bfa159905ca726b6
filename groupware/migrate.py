"""Upgrading the database schema (Alembic) and the data every install needs."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from groupware.accounts.roles import ensure_builtin_roles
from groupware.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def is_search_table(name: str | None) -> bool:
    """The SQLite FTS5 tables of the search (``search_partners`` and its shadow tables
    ``search_partners_data``...), made and kept by migration 0022 and its triggers,
    not by a model."""
    return bool(name) and str(name).startswith("search_")


def include_object(dialect: str) -> Callable[..., bool]:
    """Leave out of autogenerate the schema objects made for another dialect only
    (``Index(...).ddl_if(dialect="postgresql")``) and the search's FTS5 tables."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ == "table" and reflected and compare_to is None and is_search_table(name):
            return False
        condition = getattr(obj, "_ddl_if", None)
        return condition is None or condition.dialect in (None, dialect)

    return include


def schema_drift(engine: Engine) -> list[Any]:
    """What autogenerate would still change in the database: empty when the migrations
    and the models agree."""
    from alembic.autogenerate import compare_metadata

    from groupware.db import Base

    with engine.connect() as connection, warnings.catch_warnings():
        dialect = connection.dialect.name
        # Expression indexes made for another dialect: left out by include_object, but
        # a dialect that cannot reflect such indexes warns of them first.
        for table in Base.metadata.tables.values():
            for index in table.indexes:
                condition = getattr(index, "_ddl_if", None)
                if condition is not None and condition.dialect not in (None, dialect):
                    warnings.filterwarnings(
                        "ignore", message=f".*expression-based index {index.name!r}"
                    )
        options = {"compare_type": True, "include_object": include_object(dialect)}
        context = MigrationContext.configure(connection, opts=options)
        return list(compare_metadata(context, Base.metadata))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    return config


def upgrade_schema(database: Database, revision: str = "head") -> None:
    """Run the migrations up to ``revision`` in one transaction.

    On SQLite a batch operation rebuilds a table (copy, drop, rename). With foreign
    keys enforced, dropping the old table deletes or empties the rows that refer to it
    (ON DELETE CASCADE / SET NULL: a deal's lines and members, the tasks' links), so
    enforcement is off while the migrations run, the references are checked before the
    commit, and enforcement is back on for the connection afterwards (SQLite's own
    procedure for changing a table; the pragma does nothing inside a transaction)."""
    config = alembic_config()
    with database.engine.connect() as connection:
        raw = connection.connection.driver_connection
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left broken references: {broken[:5]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(database: Database) -> None:
    """Bring the schema to the newest revision and the built-in roles up to date."""
    upgrade_schema(database)
    with database.transaction(actor_id=None, channel="cli") as session:
        ensure_builtin_roles(session)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
