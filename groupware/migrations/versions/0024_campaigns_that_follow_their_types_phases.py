"""campaigns that follow their type's phases

A campaign has a type (a process type of the process "campaign", whose phases it is
planned by), an owner and a team, dates, a budget and goals; its current phase and that
phase's planned end are kept on it for the lists and the alert job, as a deal's are.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08 01:53:45.807763
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import groupware.db

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("type_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected_responses", sa.Integer(), nullable=False),
        sa.Column("expected_revenue", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=True),
        sa.Column("phase_due", sa.Date(), nullable=True),
        sa.Column("created_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('planned', 'active', 'finished', 'cancelled')",
            name=op.f("ck_campaigns_status"),
        ),
        sa.CheckConstraint("budget >= 0", name=op.f("ck_campaigns_budget")),
        sa.CheckConstraint(
            "ends_on IS NULL OR ends_on >= starts_on", name=op.f("ck_campaigns_dates")
        ),
        sa.CheckConstraint("expected_responses >= 0", name=op.f("ck_campaigns_expected_responses")),
        sa.CheckConstraint("expected_revenue >= 0", name=op.f("ck_campaigns_expected_revenue")),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_campaigns_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phases.id"],
            name=op.f("fk_campaigns_phase_id_phases"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_campaigns_team_id_teams"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["type_id"],
            ["process_types.id"],
            name=op.f("fk_campaigns_type_id_process_types"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index("ix_campaigns_owner_id_status", ["owner_id", "status"], unique=False)
        batch_op.create_index(
            "ix_campaigns_status_phase_due", ["status", "phase_due"], unique=False
        )
        batch_op.create_index("ix_campaigns_team_id", ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index("ix_campaigns_team_id")
        batch_op.drop_index("ix_campaigns_status_phase_due")
        batch_op.drop_index("ix_campaigns_owner_id_status")

    op.drop_table("campaigns")
