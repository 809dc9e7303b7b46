"""The send and service tasks of a process, read into `ConnectorModel`s (engine.connectors says what a
connector may be); any other send or service task is an error naming its id."""

from __future__ import annotations

from lxml import etree

from engine.connectors import CONNECTOR_TASKS, read_connector
from engine.model import ConnectorModel
from engine.specs.bpmn_xml import NS, properties
from engine.specs.findings import Findings, checked_label

_TAGS = frozenset(f"{{{NS['bpmn']}}}{name}" for name in CONNECTOR_TASKS)


def connector_tasks(process: etree._Element, found: Findings) -> dict[str, ConnectorModel]:
    """Every send and service task of the process by id, with its connector. A send task that throws a
    BPMN message (a `messageRef` or message event definition) and names no connector is left to the
    message events."""
    tasks: dict[str, ConnectorModel] = {}
    for el in process.iter(*_TAGS):  # inside sub-processes too
        task_id = el.get("id") or ""
        kind = etree.QName(el).localname
        props = properties(el)
        if kind == "sendTask" and "connector" not in props and _throws_message(el):
            continue
        operator = el.find("bpmn:extensionElements/spiffworkflow:serviceTaskOperator", NS)
        if operator is not None:
            found.problem(
                task_id,
                f"{kind} calls service operator {operator.get('id')!r}: Launch Gate runs no code and calls "
                "no services from a diagram; name a built-in connector (connector = email or webhook)",
            )
            continue
        title = checked_label(found, task_id, el.get("name")) or task_id
        model, problems = read_connector(task_id, kind, title, props)
        for problem in problems:
            found.problem(task_id, problem)
        if model is not None:
            tasks[task_id] = model
    return tasks


def _throws_message(el: etree._Element) -> bool:
    return el.get("messageRef") is not None or el.find("bpmn:messageEventDefinition", NS) is not None
