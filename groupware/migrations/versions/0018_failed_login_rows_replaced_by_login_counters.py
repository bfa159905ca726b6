"""failed login rows replaced by login counters

Login throttling counts per account and address, and per address, in one row per key
(groupware/accounts/throttle.py). A schema change only: failed logins are short-lived,
so the rows of ``login_attempts`` are not carried over (a guesser's count starts anew
at the upgrade).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 03:16:54.415986
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # noqa: F401 - autogenerate writes JSONB(astext_type=Text())

import groupware.db

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_counters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("username", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_at", groupware.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('account', 'address', 'proven')", name=op.f("ck_login_counters_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_counters")),
        sa.UniqueConstraint(
            "kind", "username", "address", name=op.f("uq_login_counters_kind_username_address")
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("login_counters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_counters_last_at"), ["last_at"], unique=False)

    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_attempts_address_at"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_at"))
        batch_op.drop_index(batch_op.f("ix_login_attempts_username_at"))

    op.drop_table("login_attempts")


def downgrade() -> None:
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=254), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempts")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("login_attempts", schema=None) as batch_op:
        batch_op.create_index("ix_login_attempts_address_at", ["address", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_login_attempts_at"), ["at"], unique=False)
        batch_op.create_index("ix_login_attempts_username_at", ["username", "at"], unique=False)

    with op.batch_alter_table("login_counters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_counters_last_at"))

    op.drop_table("login_counters")
