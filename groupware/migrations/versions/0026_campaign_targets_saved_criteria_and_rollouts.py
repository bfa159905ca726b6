"""campaign targets, saved criteria and rollouts

A campaign's targets (one row per partner, refused twice by a unique constraint; a
rollout deal or task names one target at most), criteria saved for reuse, the criteria
a campaign's list was frozen from, and the runs of its rollout (at most one running per
campaign: a partial unique index).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08 03:20:38.892566
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import groupware.db

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaign_criteria",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("created_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_campaign_criteria_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_criteria")),
        sa.UniqueConstraint("name", name=op.f("uq_campaign_criteria_name")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "campaign_rollouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("make_deals", sa.Boolean(), nullable=False),
        sa.Column("make_tasks", sa.Boolean(), nullable=False),
        sa.Column("deal_type_id", sa.Integer(), nullable=True),
        sa.Column("deal_title", sa.String(length=200), nullable=False),
        sa.Column("task_title", sa.String(length=200), nullable=False),
        sa.Column("task_due", sa.Date(), nullable=True),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("deals_made", sa.Integer(), nullable=False),
        sa.Column("deals_linked", sa.Integer(), nullable=False),
        sa.Column("tasks_made", sa.Integer(), nullable=False),
        sa.Column("queued", sa.Integer(), nullable=False),
        sa.Column("per_rep", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("started_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("beat", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", groupware.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_campaign_rollouts_status")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_rollouts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deal_type_id"],
            ["process_types.id"],
            name=op.f("fk_campaign_rollouts_deal_type_id_process_types"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["started_by_id"],
            ["users.id"],
            name=op.f("fk_campaign_rollouts_started_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_rollouts")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("campaign_rollouts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_rollouts_campaign_id", ["campaign_id", "id"], unique=False
        )
        batch_op.create_index(
            "ux_campaign_rollouts_running",
            ["campaign_id"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.create_table(
        "campaign_targets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("added_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("responded_at", groupware.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "source IN ('criteria', 'csv', 'hand', 'campaign')",
            name=op.f("ck_campaign_targets_source"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'contacted', 'responded', 'interested', 'not_interested', "
            "'won', 'lost', 'opted_out')",
            name=op.f("ck_campaign_targets_status"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_targets_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_campaign_targets_deal_id_deals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partners.id"],
            name=op.f("fk_campaign_targets_partner_id_partners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"],
            ["users.id"],
            name=op.f("fk_campaign_targets_rep_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["tasks.id"],
            name=op.f("fk_campaign_targets_task_id_tasks"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_targets")),
        sa.UniqueConstraint("campaign_id", "partner_id", name="uq_campaign_targets_partner"),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("campaign_targets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_targets_campaign_id_status", ["campaign_id", "status"], unique=False
        )
        batch_op.create_index("ix_campaign_targets_partner_id", ["partner_id"], unique=False)
        batch_op.create_index("ix_campaign_targets_rep_id", ["rep_id"], unique=False)
        batch_op.create_index("ux_campaign_targets_deal_id", ["deal_id"], unique=True)
        batch_op.create_index("ux_campaign_targets_task_id", ["task_id"], unique=True)

    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("criteria", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("criteria")

    with op.batch_alter_table("campaign_targets", schema=None) as batch_op:
        batch_op.drop_index("ux_campaign_targets_task_id")
        batch_op.drop_index("ux_campaign_targets_deal_id")
        batch_op.drop_index("ix_campaign_targets_rep_id")
        batch_op.drop_index("ix_campaign_targets_partner_id")
        batch_op.drop_index("ix_campaign_targets_campaign_id_status")

    op.drop_table("campaign_targets")
    with op.batch_alter_table("campaign_rollouts", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_campaign_rollouts_running",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.drop_index("ix_campaign_rollouts_campaign_id")

    op.drop_table("campaign_rollouts")
    op.drop_table("campaign_criteria")
