"""Alembic environment: runs on the connection ``groupware.migrate`` hands it, or on
the database named by the settings when called from the ``alembic`` command."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from groupware.areas import install
from groupware.db import Base, make_engine
from groupware.migrate import include_object
from groupware.settings import load_settings

install()  # every area's models
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = make_engine(load_settings().effective_database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()
