"""Build the SpiffWorkflow spec of a checked diagram."""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.defaults import ServiceTask

from engine.runtime.timers import clock_timers


class ConnectorServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task bound to a built-in connector. It runs nothing here (never code, never
    `call_service`): it completes at once, and the command that ran this engine step queues the
    connector's outbox message in the same transaction (engine.commands.connectors)."""

    def _run_hook(self, my_task: Any) -> bool:
        return True


class _Parser(BpmnParser):  # type: ignore[misc]
    OVERRIDE_PARSER_CLASSES = {full_tag("serviceTask"): (TaskParser, ConnectorServiceTask)}


def build_spec(root: etree._Element, process_id: str) -> Any:
    """Build the SpiffWorkflow spec from an already hardened and validated document; its timer
    definitions are swapped for the clocked ones."""
    parser = _Parser()
    parser.add_bpmn_xml(root, filename=f"{process_id}.bpmn")
    spec = parser.get_spec(process_id)
    clock_timers(spec)
    return spec
