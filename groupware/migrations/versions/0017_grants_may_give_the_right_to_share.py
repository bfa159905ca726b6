"""grants may give the right to share

A role may grant "share": changing whom a record is shared with (its shares, a deal's
further people, a partner's reps), which write access no longer gives.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_BEFORE = "action IN ('view', 'create', 'edit', 'delete', 'export', 'admin')"
_AFTER = "action IN ('view', 'create', 'edit', 'delete', 'export', 'share', 'admin')"


def upgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_grants_action"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_grants_action"), _AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM grants WHERE action = 'share'")
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_grants_action"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_grants_action"), _BEFORE)
