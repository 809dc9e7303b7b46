"""Running a diagram of sub-processes, call activities and multi-instance elements in memory, with
save-and-restore after every step (the workflow is rebuilt from its dumped state each time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.runtime import InstanceProgress, RunningWorkflow, SpecBundle, build_spec
from engine.serialization import dump_state, restore_state
from engine.specs.findings import Findings
from engine.specs.multi_instance import multi_instance_plans
from engine.specs.structure import call_activities
from engine.xml_safety import parse_xml_document

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.bpmn").read_bytes()


def bundle(xml: bytes, process_id: str) -> SpecBundle:
    """The specs as loading builds them (plans and call mappings read from the diagram), without the
    diagram checks."""
    root = parse_xml_document(xml)
    found = Findings()
    plans = multi_instance_plans(root, found)
    calls = {c.bpmn_id: c.mapping for p in root.iter("{*}process") for c in call_activities(p, found)}
    assert found.errors == [], found.errors
    return build_spec(root, process_id, plans=plans, calls=calls)


class Run:
    """One workflow, saved and restored from its state after every step."""

    def __init__(self, spec: SpecBundle, start: dict[str, Any]) -> None:
        self.spec = spec
        self.last: InstanceProgress | None = None
        self.workflow = RunningWorkflow.start(spec, start_data=start, launch_id="run")
        self.save_and_restore()

    def save_and_restore(self) -> None:
        state = dump_state(self.workflow)
        self.workflow = restore_state(state, self.spec, launch_id="run")
        assert dump_state(self.workflow) == state, "the state does not round-trip"

    def ready(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.workflow.ready_user_tasks())

    def complete(self, bpmn_id: str, document: str, data: dict[str, Any], label: str | None = None) -> str:
        """Complete the ready task `bpmn_id` (its instance `label`); returns its id."""
        ready = [t for t in self.workflow.ready_user_tasks() if t.bpmn_id == bpmn_id]
        if label is not None:
            ready = [t for t in ready if t.instance is not None and t.instance.label == label]
        assert ready, f"{bpmn_id} {label or ''} is not ready: {self.ready()}"
        self.workflow.complete_user_task(ready[0].id, document=document, data=data)
        self.last = self.workflow.completed_instance  # where its multi-instance stands after it
        self.save_and_restore()
        return ready[0].id
