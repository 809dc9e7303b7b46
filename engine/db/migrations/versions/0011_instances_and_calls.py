"""Multi-instance tasks and call activities: which instance a task is (label, position, how far its
multi-instance is), a multi-instance gate item's progress, and the called process versions pinned into a
process version.

Revision ID: 0011_instances_and_calls
Revises: 0010_waiting_events
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_instances_and_calls"
down_revision = "0010_waiting_events"
branch_labels = None
depends_on = None

_TASK = ("instance_label", "instance_index", "instance_total", "instance_done", "instance_needed")
_GATE = ("progress_done", "progress_total", "progress_needed")


def upgrade() -> None:
    # Rows written before this revision are no instance (NULL) and pin no called process. Columns are
    # added (and dropped) in place: SQLite 3.35+ needs no table rebuild, which the foreign keys forbid.
    op.add_column("task", sa.Column("instance_label", sa.String(100), nullable=True))
    for name in _TASK[1:]:
        op.add_column("task", sa.Column(name, sa.Integer(), nullable=True))
    for name in _GATE:
        op.add_column("gate_item", sa.Column(name, sa.Integer(), nullable=True))
    op.add_column("process_version", sa.Column("calls", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("process_version", "calls")
    for name in reversed(_GATE):
        op.drop_column("gate_item", name)
    for name in reversed(_TASK):
        op.drop_column("task", name)
