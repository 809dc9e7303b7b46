"""Delivery and scheduling: outbox leases and channels, task ladder and escalation, launch settings and
the next-timer index.

Revision ID: 0004_delivery_scheduling
Revises: 0003_task_drafts
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db.models import UTCDateTime

revision = "0004_delivery_scheduling"
down_revision = "0003_task_drafts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("launch", sa.Column("support_distribution", sa.JSON(), nullable=False, server_default="[]"))
    op.add_column("launch", sa.Column("due_overrides", sa.JSON(), nullable=False, server_default="{}"))
    op.add_column("launch", sa.Column("next_timer_at", UTCDateTime(), nullable=True))
    op.create_index("ix_launch_next_timer", "launch", ["next_timer_at"])

    op.add_column("task", sa.Column("ladder_step", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("task", sa.Column("remind_at", UTCDateTime(), nullable=True))
    op.add_column("task", sa.Column("escalated_at", UTCDateTime(), nullable=True))
    op.create_index("ix_task_remind", "task", ["status", "remind_at"])

    op.add_column("outbox_message", sa.Column("locked_until", UTCDateTime(), nullable=True))
    op.add_column("outbox_message", sa.Column("locked_by", sa.String(100), nullable=True))
    op.add_column(
        "outbox_message", sa.Column("delivered_channels", sa.String(100), nullable=False, server_default="")
    )
    op.add_column("outbox_message", sa.Column("failed_at", UTCDateTime(), nullable=True))
    op.create_index("ix_outbox_launch_status", "outbox_message", ["launch_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_launch_status", table_name="outbox_message")
    op.drop_index("ix_task_remind", table_name="task")
    op.drop_index("ix_launch_next_timer", table_name="launch")
    with op.batch_alter_table("outbox_message") as batch:
        for column in ("failed_at", "delivered_channels", "locked_by", "locked_until"):
            batch.drop_column(column)
    with op.batch_alter_table("task") as batch:
        for column in ("escalated_at", "remind_at", "ladder_step"):
            batch.drop_column(column)
    with op.batch_alter_table("launch") as batch:
        for column in ("next_timer_at", "due_overrides", "support_distribution"):
            batch.drop_column(column)
