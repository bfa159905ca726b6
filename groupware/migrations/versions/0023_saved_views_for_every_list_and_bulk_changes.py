"""saved views for every list, and bulk changes to take back

The partners' and deals' saved filters become saved views of any list (filters, sort
and columns in one query string), private or shared with a team; the old rows move
over. A partner view sorted "newest first" said ``sort=created``; a list's sort now
names a column, descending with a minus, so it says ``sort=-created``. Bulk changes
keep what their undo needs.

Revision ID: 0023
Revises: 0021
Create Date: 2026-12-10 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import groupware.db

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("list_name", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("created_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_saved_views_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint(
            "user_id", "list_name", "name", name=op.f("uq_saved_views_user_id_list_name_name")
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_saved_views_list_name_team_id", "saved_views", ["list_name", "team_id"])
    op.create_table(
        "bulk_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("list_name", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("value_label", sa.String(length=200), nullable=False),
        sa.Column("payload", _json(), nullable=False),
        sa.Column("created_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("undone_at", groupware.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_bulk_changes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_changes")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_bulk_changes_user_id_list_name_id", "bulk_changes", ["user_id", "list_name", "id"]
    )
    op.execute(
        "INSERT INTO saved_views (list_name, user_id, team_id, name, query, created_at) "
        "SELECT module, user_id, NULL, name, query, created_at FROM saved_filters"
    )
    views = sa.table("saved_views", sa.column("id"), sa.column("query"))
    connection = op.get_bind()
    for view_id, query in connection.execute(sa.select(views.c.id, views.c.query)).all():
        pairs = query.split("&") if query else []
        if "sort=created" in pairs:
            changed = "&".join("sort=-created" if p == "sort=created" else p for p in pairs)
            connection.execute(views.update().where(views.c.id == view_id).values(query=changed))
    op.drop_table("saved_filters")


def downgrade() -> None:
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("module", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.String(length=2000), nullable=False),
        sa.Column("created_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_filters_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_filters")),
        sa.UniqueConstraint(
            "user_id", "module", "name", name=op.f("uq_saved_filters_user_id_module_name")
        ),
        sqlite_autoincrement=True,
    )
    op.execute(
        "INSERT INTO saved_filters (module, user_id, name, query, created_at) "
        "SELECT list_name, user_id, name, query, created_at FROM saved_views "
        "WHERE list_name IN ('partners', 'deals')"
    )
    op.drop_index("ix_bulk_changes_user_id_list_name_id", table_name="bulk_changes")
    op.drop_table("bulk_changes")
    op.drop_index("ix_saved_views_list_name_team_id", table_name="saved_views")
    op.drop_table("saved_views")
