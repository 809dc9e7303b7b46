"""View builders: the frozen views the engine returns, built from rows. One builder per view, naming only
what is not copied field for field (engine.domain.view_from).

A launch in a list is built from its row alone (gate progress is denormalised onto it); a launch on its
own also carries its gate, blockers and open tasks, built from the rows of one version (a snapshot).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
    ProcessView,
    TaskStatus,
    TaskView,
    WaitingEventView,
    view_from,
)
from engine.model import ProcessModel
from engine.snapshots import LaunchSnapshot
from engine.specs import LoadedProcess


def summary_view(launch: LaunchRecord | LaunchRow, label: tuple[str, int, str]) -> LaunchView:
    """A launch as lists show it: from its row alone. `label`: (process id, version number, process name)."""
    return _launch_view(launch, label)


def full_view(snapshot: LaunchSnapshot, model: ProcessModel, label: tuple[str, int, str]) -> LaunchView:
    """A launch with its gate, blockers and open tasks, from its rows at one version."""
    launch = snapshot.launch
    items = gate.gate_views(model, snapshot.facts.values(), snapshot.ready)
    return _launch_view(
        launch,
        label,
        items=items,
        blockers=gate.blockers(items),
        open_tasks=tuple(task_view(t, launch.product_name, label) for t in snapshot.ready),
    )


def _launch_view(
    launch: LaunchRecord | LaunchRow,
    label: tuple[str, int, str],
    *,
    items: tuple[GateItemView, ...] = (),
    blockers: tuple[BlockerView, ...] = (),
    open_tasks: tuple[TaskView, ...] = (),
) -> LaunchView:
    return view_from(
        LaunchView,
        launch,
        status=LaunchStatus(launch.status),
        process_id=label[0],
        process_version=label[1],
        process_name=label[2],
        blocked_by=tuple(k for k in launch.blocked_by.split(",") if k),
        support_distribution=tuple(launch.support_distribution or ()),
        due_overrides=dict(launch.due_overrides or {}),
        gate=items,
        blockers=blockers,
        open_tasks=open_tasks,
        waiting=tuple(_waiting_view(w) for w in launch.waiting or ()),
    )


def _waiting_view(stored: Mapping[str, Any]) -> WaitingEventView:
    due = stored.get("due_at")
    return WaitingEventView(
        kind=str(stored.get("kind", "")),
        name=str(stored.get("name", "")),
        element_id=str(stored.get("element_id", "")),
        due_at=datetime.fromisoformat(due) if isinstance(due, str) else None,
        boundary=bool(stored.get("boundary", False)),
        interrupting=bool(stored.get("interrupting", True)),
    )


def task_view(
    task: TaskRecord | TaskRow, product_name: str, label: tuple[str, int, str] = ("", 0, "")
) -> TaskView:
    return view_from(
        TaskView,
        task,
        status=TaskStatus(task.status),
        product_name=product_name,
        process_id=label[0],
        process_version=label[1],
        process_name=label[2],
    )


def comment_view(record: CommentRecord) -> CommentView:
    return view_from(CommentView, record)


def process_version_view(record: ProcessVersionRecord, *, latest_id: int | None) -> ProcessVersionView:
    return view_from(ProcessVersionView, record, is_latest=latest_id == record.id)


def process_view(process: LoadedProcess, label: tuple[str, int, str]) -> ProcessView:
    start = process.forms.start_form()
    return ProcessView(
        process_id=label[0],
        name=label[2],
        description=process.model.documentation,
        version=label[1],
        gated=process.model.go_live_task is not None,
        start_form_schema=start.json_schema(),
        start_form_ui=dict(start.ui_schema),
    )
