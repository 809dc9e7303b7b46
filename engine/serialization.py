"""Workflow state <-> JSON, WITHOUT the spec.

SpiffWorkflow's default serialization embeds the whole process spec (expressions included) in every
state. We store the spec once per process version (by content hash) and never load code from an instance
row: the state holds only tasks and data, and restoring takes the specs of the launch's process version
(the top process and every sub-process and called process it may start: `engine.runtime.SpecBundle`).
"""

from __future__ import annotations

import json
import threading
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task

from engine.clock import Clock
from engine.errors import WorkflowStuckError
from engine.runtime import RunningWorkflow, SpecBundle
from engine.runtime.triggers import rewire

STATE_FORMAT = "launchgate-state/1"
_VERSION_KEY = "serializer_version"


class _SpecFreeWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any], spec: SpecBundle | None = None) -> Any:
        if spec is None:
            raise WorkflowStuckError("restoring a workflow needs its process spec")
        workflow = self.target_class(spec.top, dict(spec.subprocesses), deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        # Every sub-workflow's spec comes from the bundle: one it does not know is a state we cannot run.
        if dct["subprocesses"]:
            raise WorkflowStuckError("the stored state holds sub-processes its process version does not have")
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class _OrderedDeltaTaskConverter(TaskConverter):  # type: ignore[misc]
    """A task's data is stored as its changes against its parent's data; restoring rebuilds it in the
    parent's key order. The changes are stored in key order, so a restored state dumps to the same text
    (a multi-instance writes into its own data while its instances run)."""

    def to_dict(self, task: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(task)
        delta = dct.get("delta")
        if delta:
            delta["updates"] = dict(sorted(delta.get("updates", {}).items()))
            delta["deletions"] = sorted(delta.get("deletions", []))
        return dct


def _make_serializer() -> Any:
    registry = BpmnWorkflowSerializer.configure()
    _SpecFreeWorkflowConverter(BpmnWorkflow, registry)
    _OrderedDeltaTaskConverter(Task, registry)
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _make_serializer()
# The registry toggles an encoder flag while converting: one conversion at a time per process.
_SERIALIZER_LOCK = threading.Lock()


def dump_state(workflow: RunningWorkflow) -> str:
    """The workflow's state as compact JSON, without the spec."""
    serializer = _SERIALIZER
    with _SERIALIZER_LOCK:
        serializer.registry._encoder_mode = True
        try:
            dct = serializer.to_dict(workflow.raw)
            # One order for the sub-workflows: SpiffWorkflow lists them as created, and after a restore
            # depth first (the instances of a multi-instance sub-process holding a sub-process differ).
            dct["subprocesses"] = dict(sorted(dct.get("subprocesses", {}).items()))
            dct[_VERSION_KEY] = serializer.VERSION
            dct["format"] = STATE_FORMAT
            return json.dumps(dct, cls=serializer._encoder_cls, separators=(",", ":"))
        finally:
            serializer.registry._encoder_mode = False


def restore_state(
    state: str, spec: SpecBundle, *, launch_id: str | None = None, clock: Clock | None = None
) -> RunningWorkflow:
    """Rebuild a workflow from stored state and the specs of its process version (the top process, its
    sub-processes and called processes; its timers read `clock`)."""
    try:
        dct = json.loads(state)
    except json.JSONDecodeError as exc:
        raise WorkflowStuckError(f"stored state of launch {launch_id} is not valid JSON: {exc}") from exc
    if not isinstance(dct, dict) or "tasks" not in dct:
        raise WorkflowStuckError(f"stored state of launch {launch_id} is not a workflow state")
    dct.pop("format", None)
    version = dct.pop(_VERSION_KEY, None)
    dct.pop("spec", None)  # never trust a spec found in an instance row
    dct.pop("subprocess_specs", None)
    if version != _SERIALIZER.VERSION:
        # Older formats' migrations need the embedded spec we never store; refuse clearly instead.
        raise WorkflowStuckError(
            f"stored state of launch {launch_id} uses serializer format {version!r}; "
            f"this release reads {_SERIALIZER.VERSION!r}"
        )
    try:
        workflow = _SERIALIZER.registry.restore(dct, spec=spec.for_one_workflow())
        rewire(workflow)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise WorkflowStuckError(f"stored state of launch {launch_id} cannot be restored: {exc!r}") from exc
    return RunningWorkflow(workflow, launch_id=launch_id, clock=clock)
