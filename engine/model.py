"""What Launch Gate knows of a process, read from its diagram: user tasks, gate items, the go-live task.

Plain frozen data built by engine.specs when it loads a diagram; the gate rule (engine.gate), the
commands and the views read it. Nothing here parses XML or touches SpiffWorkflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.expressions import Expression


@dataclass(frozen=True)
class UserTaskModel:
    """What Launch Gate knows of one user task, read from the diagram."""

    id: str
    title: str
    role: str
    documentation: str
    document: str
    reviews: str | None
    gate_item: str | None
    gate_item_title: str | None
    gate_pass_when: Expression | None
    gate_part_of: str | None
    go_live: bool
    due_in_business_days: int | None
    sends: str | None
    shows: tuple[str, ...] = ()  # user tasks whose documents are shown beside the form (`showDocuments`)
    to_starter: bool = False  # in no lane with a role: a pm task assigned to whoever started the launch


@dataclass(frozen=True)
class GateItemModel:
    key: str
    title: str
    task_id: str
    position: int
    role: str


@dataclass(frozen=True)
class ProcessModel:
    process_id: str
    name: str
    content_hash: str
    tasks: Mapping[str, UserTaskModel]
    gate_items: tuple[GateItemModel, ...]
    go_live_task: str | None  # None: a plain process (no gate), which runs to its end
    documentation: str = ""  # the process's own <bpmn:documentation>: what it is for (the New launch page)

    def gate_item(self, key: str) -> GateItemModel:
        for item in self.gate_items:
            if item.key == key:
                return item
        raise KeyError(key)
