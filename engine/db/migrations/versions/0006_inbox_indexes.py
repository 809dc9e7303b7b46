"""Indexes for the inbox and the launch list at scale: each inbox branch (my ready tasks; the unassigned ready
tasks of one role) in inbox order, the launch list in its order, and the "blocked" count from an index.

ix_task_assignee_status becomes ix_task_assigned, which leaves out the unassigned rows (see models.py). The
planner statistics are refreshed after any migration (engine.db.migrate.upgrade_to_head).

Revision ID: 0006_inbox_indexes
Revises: 0005_task_completion_order
Create Date: 2026-11-24
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006_inbox_indexes"
down_revision = "0005_task_completion_order"
branch_labels = None
depends_on = None

_ASSIGNED = "assignee IS NOT NULL"
_INBOX_ASSIGNEE = "status = 'ready' AND assignee IS NOT NULL"
_INBOX_ROLE = "status = 'ready' AND assignee IS NULL"


def _where(condition: str) -> dict[str, Any]:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.drop_index("ix_task_assignee_status", table_name="task")
    op.create_index("ix_task_assigned", "task", ["assignee", "status"], **_where(_ASSIGNED))
    op.create_index(
        "ix_task_inbox_assignee",
        "task",
        ["assignee", "due_at", "created_at", "id"],
        **_where(_INBOX_ASSIGNEE),
    )
    op.create_index(
        "ix_task_inbox_role",
        "task",
        ["role", "due_at", "created_at", "id", "status", "assignee"],
        **_where(_INBOX_ROLE),
    )
    op.create_index("ix_launch_created", "launch", [sa.text("created_at DESC"), "id"])
    op.create_index("ix_launch_status_blocked", "launch", ["status", "blocked_by"])


def downgrade() -> None:
    op.drop_index("ix_launch_status_blocked", table_name="launch")
    op.drop_index("ix_launch_created", table_name="launch")
    op.drop_index("ix_task_inbox_role", table_name="task")
    op.drop_index("ix_task_inbox_assignee", table_name="task")
    op.drop_index("ix_task_assigned", table_name="task")
    op.create_index("ix_task_assignee_status", "task", ["assignee", "status"])
