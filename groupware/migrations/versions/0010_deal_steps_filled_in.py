"""deal steps filled in (data)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 16:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Each deal's template step is its current phase's.
    op.execute(
        "UPDATE deals SET step_id = "
        "(SELECT phases.type_phase_id FROM phases WHERE phases.id = deals.phase_id) "
        "WHERE phase_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("UPDATE deals SET step_id = NULL")
