"""dashboard preferences of each user

Where each widget stands on a user's dashboard and whether they hid it
(groupware/accounts/dashboard.py). A new table only; a user without rows sees the
default dashboard.

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


def downgrade() -> None:
    op.drop_table("dashboard_preferences")
