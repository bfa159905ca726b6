"""dashboard preferences of each user

Where each widget stands on a user's dashboard and whether they hid it
(groupware/accounts/dashboard.py): a new table; a user without rows sees the default
dashboard. And an index of deals by status and close date, for the sales won in a
period (the dashboard's realised sales read it on every visit; bench/dashboard.py).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 15:43:42.731238
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dashboard_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("widget", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_dashboard_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "widget", name=op.f("pk_dashboard_preferences")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index("ix_deals_status_closed_on", ["status", "closed_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index("ix_deals_status_closed_on")
    op.drop_table("dashboard_preferences")
