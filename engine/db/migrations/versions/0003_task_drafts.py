"""Saved drafts of task forms.

Revision ID: 0003_task_drafts
Revises: 0002_accounts_comments
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db.models import UTCDateTime

revision = "0003_task_drafts"
down_revision = "0002_accounts_comments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "task_draft",
        sa.Column("task_id", sa.String(36), sa.ForeignKey("task.id"), primary_key=True),
        sa.Column("author", sa.String(100), primary_key=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("saved_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("task_draft")
