"""history changes as json (PostgreSQL)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 13:50:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite stores both as text: nothing to do there.
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE history ALTER COLUMN changes TYPE json USING changes::json")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("ALTER TABLE history ALTER COLUMN changes TYPE jsonb USING changes::jsonb")
