from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.engine import Engine

from groupware.db import Base
from groupware.migrate import current_revision, head_revision, schema_drift


def test_the_test_database_was_upgraded_to_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_autogenerate_finds_no_difference(engine: Engine) -> None:
    assert schema_drift(engine) == []
