"""Order a launch's completions by the launch version they wrote (not by clock time).

Revision ID: 0005_task_completion_order
Revises: 0004_delivery_scheduling
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_task_completion_order"
down_revision = "0004_delivery_scheduling"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("completed_version", sa.Integer(), nullable=True))
    op.create_index("ix_task_launch_completion", "task", ["launch_id", "bpmn_id", "completed_version"])


def downgrade() -> None:
    op.drop_index("ix_task_launch_completion", table_name="task")
    with op.batch_alter_table("task") as batch:
        batch.drop_column("completed_version")
