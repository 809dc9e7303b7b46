"""What Launch Gate knows of a process, read from its diagram: user tasks, gate items, the go-live task.

Plain frozen data built by engine.specs when it loads a diagram; the gate rule (engine.gate), the
commands and the views read it. Nothing here parses XML or touches SpiffWorkflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.expressions import Expression


@dataclass(frozen=True)
class UserTaskModel:
    """What Launch Gate knows of one task a person does, read from the diagram: a user task, a manual
    task or a plain `<task>` (`kind`: the BPMN element name; all three wait in the inbox alike)."""

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
    kind: str = "userTask"  # userTask, manualTask or task (a human "done" step)


@dataclass(frozen=True)
class ConnectorModel:
    """A send or service task bound to a built-in connector (engine.connectors): what it sends, to whom.

    `connector` is `email` or `webhook`. E-mail: `addresses` and `roles` (every active user holding one),
    or the launch's support list (`support_list`); a `subject` and `body` with `{field}` placeholders, or
    a built-in `template` (`launch_notice`: the notice written into `document`). Webhook: `url`, and the
    `documents` whose data the JSON body carries."""

    id: str
    title: str
    kind: str  # sendTask or serviceTask
    connector: str
    addresses: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    support_list: bool = False
    subject: str = ""
    body: str = ""
    template: str | None = None
    document: str | None = None
    url: str = ""
    documents: tuple[str, ...] = ()


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
    connectors: Mapping[str, ConnectorModel] = field(default_factory=dict)  # send and service tasks by id

    def gate_item(self, key: str) -> GateItemModel:
        for item in self.gate_items:
            if item.key == key:
                return item
        raise KeyError(key)
