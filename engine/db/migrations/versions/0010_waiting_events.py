"""What a launch's workflow waits for (message, signal and timer events), beside its state.

Revision ID: 0010_waiting_events
Revises: 0009_idempotency_keys
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_waiting_events"
down_revision = "0009_idempotency_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Launches stored before this revision show nothing waiting until their next change.
    op.add_column("launch", sa.Column("waiting", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("launch", "waiting")  # SQLite 3.35+ drops a column in place (no table rebuild)
