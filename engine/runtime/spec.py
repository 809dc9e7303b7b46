"""Build the SpiffWorkflow spec of a checked diagram."""

from __future__ import annotations

from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser

from engine.runtime.timers import clock_timers


def build_spec(root: etree._Element, process_id: str) -> Any:
    """Build the SpiffWorkflow spec from an already hardened and validated document; its timer
    definitions are swapped for the clocked ones."""
    parser = BpmnParser()
    parser.add_bpmn_xml(root, filename=f"{process_id}.bpmn")
    spec = parser.get_spec(process_id)
    clock_timers(spec)
    return spec
