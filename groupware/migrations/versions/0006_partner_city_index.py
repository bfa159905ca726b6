"""partner city index (PostgreSQL)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The list's city filter, lower(city) = '...', in the list's order (PostgreSQL only:
    # on SQLite lower() is a Python function of ours; see groupware.crm.models.Partner).
    if op.get_context().dialect.name == "postgresql":
        op.create_index(
            "ix_partners_city", "partners", [sa.text("lower(city)"), "name_search", "id"]
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_index("ix_partners_city", table_name="partners")
