"""deals in a campaign

A deal may live in a campaign (``deals.campaign_id``, set to NULL when the campaign
goes). SQLite adds a named reference only by rebuilding the table (a batch
operation), which drops the triggers that keep the deals' search words (migration
0022): they are made again here, the same as there. The words table itself is keyed
by the deals' ids, which the rebuild keeps.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08 02:09:10.709366
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# Migration 0022's triggers of the deals' words (SQLite): the title is what is searched.
WORDS_TRIGGERS = (
    "CREATE TRIGGER search_deals_insert AFTER INSERT ON deals BEGIN "
    "INSERT INTO search_deals (rowid, words) VALUES (new.id, new.title); END",
    "CREATE TRIGGER search_deals_delete AFTER DELETE ON deals BEGIN "
    "INSERT INTO search_deals (search_deals, rowid, words) "
    "VALUES ('delete', old.id, old.title); END",
    "CREATE TRIGGER search_deals_update AFTER UPDATE OF title ON deals BEGIN "
    "INSERT INTO search_deals (search_deals, rowid, words) VALUES ('delete', old.id, old.title); "
    "INSERT INTO search_deals (rowid, words) VALUES (new.id, new.title); END",
)


def _words_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER IF EXISTS search_deals_{event}")
        for statement in WORDS_TRIGGERS:
            op.execute(statement)


def upgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Integer(), nullable=True))
        batch_op.create_index("ix_deals_campaign_id", ["campaign_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_deals_campaign_id_campaigns"),
            "campaigns",
            ["campaign_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _words_triggers()


def downgrade() -> None:
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_deals_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_index("ix_deals_campaign_id")
        batch_op.drop_column("campaign_id")
    _words_triggers()
