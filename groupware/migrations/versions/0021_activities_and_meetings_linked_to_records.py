"""notes and calls on any record, and meetings linked to records

Notes and logged calls were a deal's own (``deal_activities``); they are now
``activities`` on any record with a stream (a partner, a person, a deal, a task), and a
meeting is a calendar event linked to the records it is about (``calendar_links``). A
deal's notes and calls move over as they were; a logged meeting becomes a link of its
calendar event to the deal and the deal's partner (the event no longer follows the log
it came from: ``source`` is cleared), or a note when it never reached a calendar.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-10 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import groupware.db

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_SOURCE = "'meeting:' || CAST(da.id AS VARCHAR(20))"


def upgrade() -> None:
    op.create_table(
        "activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=True),
        sa.Column("occurred_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('note', 'call')", name=op.f("ck_activities_kind")),
        sa.CheckConstraint(
            "direction IS NULL OR direction IN ('out', 'in')", name=op.f("ck_activities_direction")
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN "
            "('reached', 'no_answer', 'busy', 'voicemail', 'wrong_number')",
            name=op.f("ck_activities_outcome"),
        ),
        sa.CheckConstraint(
            "duration_minutes IS NULL OR duration_minutes BETWEEN 0 AND 1440",
            name=op.f("ck_activities_duration"),
        ),
        sa.CheckConstraint("kind = 'call' OR body != ''", name=op.f("ck_activities_body")),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_activities_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_activities_record",
            ["record_type", "record_id", "kind", "occurred_at", "id"],
            unique=False,
        )
        batch_op.create_index("ix_activities_author_id", ["author_id"], unique=False)

    op.create_table(
        "calendar_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("record_type", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("created_at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["calendar_items.id"],
            name=op.f("fk_calendar_links_item_id_calendar_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_links")),
        sa.UniqueConstraint(
            "item_id",
            "record_type",
            "record_id",
            name=op.f("uq_calendar_links_item_id_record_type_record_id"),
        ),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("calendar_links", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calendar_links_record", ["record_type", "record_id"], unique=False
        )

    _move_deal_activities()
    with op.batch_alter_table("deal_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_activities_deal_id_at")
    op.drop_table("deal_activities")


def _move_deal_activities() -> None:
    op.execute(
        "INSERT INTO activities (kind, record_type, record_id, body, direction, outcome, "
        "occurred_at, author_id, created_at) "
        "SELECT kind, 'deals', deal_id, text, "
        "CASE WHEN kind = 'call' THEN 'out' END, CASE WHEN kind = 'call' THEN 'reached' END, "
        "at, author_id, at FROM deal_activities "
        "WHERE kind = 'call' OR (kind = 'note' AND text != '') ORDER BY id"
    )
    # A logged meeting that never reached a calendar (its author was inactive) stays
    # as a note.
    # The queries below are this migration's own text, with no input in them (S608).
    op.execute(
        "INSERT INTO activities (kind, record_type, record_id, body, occurred_at, author_id, "  # noqa: S608
        "created_at) "
        "SELECT 'note', 'deals', da.deal_id, da.text, da.at, da.author_id, da.at "
        "FROM deal_activities da WHERE da.kind = 'meeting' AND da.text != '' AND NOT EXISTS "
        f"(SELECT 1 FROM calendar_items ci WHERE ci.source = {_SOURCE}) ORDER BY da.id"
    )
    for record_type, record_id in (("deals", "da.deal_id"), ("partners", "d.partner_id")):
        op.execute(
            "INSERT INTO calendar_links (item_id, record_type, record_id, created_at) "  # noqa: S608
            f"SELECT ci.id, '{record_type}', {record_id}, da.at FROM deal_activities da "
            "JOIN deals d ON d.id = da.deal_id "
            f"JOIN calendar_items ci ON ci.source = {_SOURCE} "
            "WHERE da.kind = 'meeting' ORDER BY da.id"
        )
    op.execute("UPDATE calendar_items SET source = NULL WHERE source LIKE 'meeting:%'")


def downgrade() -> None:
    op.create_table(
        "deal_activities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("at", groupware.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('note', 'call', 'meeting')", name=op.f("ck_deal_activities_kind")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_deal_activities_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deal_id"],
            ["deals.id"],
            name=op.f("fk_deal_activities_deal_id_deals"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_activities")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("deal_activities", schema=None) as batch_op:
        batch_op.create_index("ix_deal_activities_deal_id_at", ["deal_id", "at"], unique=False)
    # A deal's notes and calls go back to its log; other records' and the links go.
    op.execute(
        "INSERT INTO deal_activities (deal_id, kind, at, author_id, text) "
        "SELECT a.record_id, a.kind, a.occurred_at, a.author_id, "
        "CASE WHEN a.body = '' THEN '-' ELSE a.body END FROM activities a "
        "JOIN deals d ON d.id = a.record_id WHERE a.record_type = 'deals' ORDER BY a.id"
    )
    with op.batch_alter_table("calendar_links", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_links_record")
    op.drop_table("calendar_links")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_author_id")
        batch_op.drop_index("ix_activities_record")
    op.drop_table("activities")
