"""Initial schema: process versions, launches, task index, gate items, audit chain, outbox.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from engine.db.models import UTCDateTime

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "process_version",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("process_id", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.UniqueConstraint("process_id", "version", name="uq_process_version_number"),
    )
    op.create_table(
        "launch",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("process_version_id", sa.Integer(), sa.ForeignKey("process_version.id"), nullable=False),
        sa.Column("product_name", sa.String(200), nullable=False),
        sa.Column("product_name_lower", sa.String(200), nullable=False),
        sa.Column("summary", sa.String(400), nullable=False),
        sa.Column("planned_launch_date", sa.Date(), nullable=False),
        sa.Column("pm", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("gate_total", sa.Integer(), nullable=False),
        sa.Column("gate_passed", sa.Integer(), nullable=False),
        sa.Column("blocked_by", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_launch_status_created", "launch", ["status", "created_at"])
    op.create_index("ix_launch_pm", "launch", ["pm"])
    op.create_index("ix_launch_product_name_lower", "launch", ["product_name_lower"])
    op.create_table(
        "task",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("launch_id", sa.String(36), sa.ForeignKey("launch.id"), nullable=False),
        sa.Column("bpmn_id", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("gate_item", sa.String(100), nullable=True),
        sa.Column("is_go_live", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=True),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("completed_by", sa.String(100), nullable=True),
    )
    op.create_index("ix_task_status_role", "task", ["status", "role", "due_at"])
    op.create_index("ix_task_assignee_status", "task", ["assignee", "status"])
    op.create_index("ix_task_launch", "task", ["launch_id", "status"])
    op.create_table(
        "gate_item",
        sa.Column("launch_id", sa.String(36), sa.ForeignKey("launch.id"), primary_key=True),
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("bpmn_task_id", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("passed_at", UTCDateTime(), nullable=True),
        sa.Column("passed_by", sa.String(100), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "audit_event",
        sa.Column("sequence", _BIGINT, primary_key=True, autoincrement=False),
        sa.Column("occurred_at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("role", sa.String(200), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("launch_id", sa.String(36), nullable=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_audit_launch", "audit_event", ["launch_id", "sequence"])
    op.create_index("ix_audit_actor", "audit_event", ["actor", "sequence"])
    op.create_index("ix_audit_action", "audit_event", ["action", "sequence"])
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sequence", _BIGINT, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.execute(
        sa.text("INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, :h)").bindparams(h="0" * 64)
    )
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(60), nullable=False),
        sa.Column("launch_id", sa.String(36), sa.ForeignKey("launch.id"), nullable=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_outbox_pending", "outbox_message", ["status", "next_attempt_at"])
    _create_audit_guards()


def _create_audit_guards() -> None:
    """The audit table is insert-only: UPDATE and DELETE are refused by the database itself."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is insert-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION audit_event_insert_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_event is insert-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER audit_event_insert_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_event "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_insert_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_event_insert_only ON audit_event")
        op.execute("DROP FUNCTION IF EXISTS audit_event_insert_only()")
    for table in (
        "outbox_message",
        "audit_head",
        "audit_event",
        "gate_item",
        "task",
        "launch",
        "process_version",
    ):
        op.drop_table(table)
