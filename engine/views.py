"""View builders: the frozen views the engine returns, built from rows. One builder per view.

A launch in a list is built from its row alone (gate progress is denormalised onto it); a launch on its
own also carries its gate, blockers and open tasks, built from the rows of one version (a snapshot).
"""

from __future__ import annotations

from engine import gate
from engine.db.models import CommentRecord, LaunchRecord, ProcessVersionRecord, TaskRecord
from engine.db.rows import LaunchRow, TaskRow
from engine.domain import (
    BlockerView,
    CommentView,
    GateItemView,
    LaunchStatus,
    LaunchView,
    ProcessVersionView,
    TaskStatus,
    TaskView,
)
from engine.model import ProcessModel
from engine.snapshots import LaunchSnapshot


def summary_view(launch: LaunchRecord | LaunchRow, label: tuple[str, int]) -> LaunchView:
    """A launch as lists show it: from its row alone. `label`: (process id, version number)."""
    return _launch_view(launch, label)


def full_view(snapshot: LaunchSnapshot, model: ProcessModel, label: tuple[str, int]) -> LaunchView:
    """A launch with its gate, blockers and open tasks, from its rows at one version."""
    launch = snapshot.launch
    items = gate.gate_views(model, snapshot.facts.values(), snapshot.ready)
    return _launch_view(
        launch,
        label,
        items=items,
        blockers=gate.blockers(items),
        open_tasks=tuple(task_view(t, launch.product_name) for t in snapshot.ready),
    )


def _launch_view(
    launch: LaunchRecord | LaunchRow,
    label: tuple[str, int],
    *,
    items: tuple[GateItemView, ...] = (),
    blockers: tuple[BlockerView, ...] = (),
    open_tasks: tuple[TaskView, ...] = (),
) -> LaunchView:
    return LaunchView(
        id=launch.id,
        product_name=launch.product_name,
        summary=launch.summary,
        planned_launch_date=launch.planned_launch_date,
        pm=launch.pm,
        status=LaunchStatus(launch.status),
        version=launch.version,
        process_id=label[0],
        process_version=label[1],
        created_at=launch.created_at,
        updated_at=launch.updated_at,
        completed_at=launch.completed_at,
        gate_passed=launch.gate_passed,
        gate_total=launch.gate_total,
        blocked_by=tuple(k for k in launch.blocked_by.split(",") if k),
        support_distribution=tuple(launch.support_distribution or ()),
        due_overrides=dict(launch.due_overrides or {}),
        gate=items,
        blockers=blockers,
        open_tasks=open_tasks,
    )


def task_view(task: TaskRecord | TaskRow, product_name: str) -> TaskView:
    return TaskView(
        id=task.id,
        launch_id=task.launch_id,
        bpmn_id=task.bpmn_id,
        title=task.title,
        role=task.role,
        assignee=task.assignee,
        status=TaskStatus(task.status),
        created_at=task.created_at,
        due_at=task.due_at,
        completed_at=task.completed_at,
        completed_by=task.completed_by,
        gate_item=task.gate_item,
        is_go_live=task.is_go_live,
        product_name=product_name,
        escalated_at=task.escalated_at,
    )


def comment_view(record: CommentRecord) -> CommentView:
    return CommentView(
        id=record.id,
        launch_id=record.launch_id,
        task_id=record.task_id,
        author=record.author,
        body=record.body,
        created_at=record.created_at,
    )


def process_version_view(record: ProcessVersionRecord, *, latest_id: int | None) -> ProcessVersionView:
    return ProcessVersionView(
        id=record.id,
        process_id=record.process_id,
        version=record.version,
        content_hash=record.content_hash,
        created_at=record.created_at,
        created_by=record.created_by,
        is_latest=latest_id == record.id,
    )
