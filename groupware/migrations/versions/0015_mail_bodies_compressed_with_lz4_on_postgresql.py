"""mail bodies compressed with lz4 on PostgreSQL

The raw message, its text and its HTML are long enough to be compressed by
PostgreSQL's TOAST; its default method (pglz) cost a quarter of the database's time
per filed message (bench/smtp_ingest.py), lz4 a fraction of that. A server built
without lz4 (or older than PostgreSQL 14) keeps the default. SQLite: nothing.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27 20:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

COLUMNS = ("raw", "text", "html")


def _compression(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    columns = ", ".join(f"ALTER COLUMN {c} SET COMPRESSION {method}" for c in COLUMNS)
    op.execute(
        f"""DO $$ BEGIN
            ALTER TABLE mail_messages {columns};
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error
            THEN RAISE NOTICE 'mail bodies keep the default compression';
        END $$"""
    )


def upgrade() -> None:
    _compression("lz4")


def downgrade() -> None:
    _compression("pglz")
