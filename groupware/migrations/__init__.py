"""Alembic migrations. ``groupware migrate`` upgrades; revisions have descriptive names,
and schema and data changes live in separate revisions."""
