from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from groupware.migrate import current_revision, head_revision, include_object
from groupware.models import Base


def test_the_test_database_was_upgraded_to_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    with engine.connect() as conn:
        options = {"compare_type": True, "include_object": include_object(conn.dialect.name)}
        context = MigrationContext.configure(conn, opts=options)
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
