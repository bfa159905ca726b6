"""mail deliveries kept once by a delivery key

The SMTP server files a message again when its connection to the database was lost
before it learned whether the first attempt committed; a unique key of the delivery
(``mail_messages.delivery_key``, NULL for mail written on the web) makes the second
attempt find the first instead of keeping the message twice.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivery_key", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_mail_messages_delivery_key", ["delivery_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("mail_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_mail_messages_delivery_key")
        batch_op.drop_column("delivery_key")
