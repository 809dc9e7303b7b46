"""Small diagrams with events, written for the event tests (tests/engine/test_event_*.py).

`diagram(body)` wraps process elements in <definitions> with the messages, signals, errors and
escalations the bodies use; every user task is a PM task (role pm) so that the engine can run it."""

from __future__ import annotations

import itertools
import re
from typing import Final

HEADER: Final = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:message id="m_beta" name="beta_ended"/>
  <bpmn:message id="m_halt" name="halt"/>
  <bpmn:signal id="s_freeze" name="freeze"/>
  <bpmn:error id="e_legal" name="Legal" errorCode="legal_veto"/>
  <bpmn:escalation id="x_late" name="Late" escalationCode="late"/>
"""


def diagram(body: str, *, process_id: str = "events", name: str = "Events") -> str:
    """A process of `body`, with one lane (role pm) holding every user task."""
    refs = "".join(
        f"<bpmn:flowNodeRef>{t}</bpmn:flowNodeRef>" for t in re.findall(r'<bpmn:userTask id="([^"]+)"', body)
    )
    lanes = (
        '<bpmn:laneSet id="lanes"><bpmn:lane id="lane_pm" name="Product Manager"><bpmn:extensionElements>'
        '<spiffworkflow:properties><spiffworkflow:property name="role" value="pm"/>'
        "</spiffworkflow:properties>"
        f"</bpmn:extensionElements>{refs}</bpmn:lane></bpmn:laneSet>"
    )
    return (
        f'{HEADER}  <bpmn:process id="{process_id}" name="{name}" isExecutable="true">\n'
        f"{lanes}\n{body}\n  </bpmn:process>\n</bpmn:definitions>\n"
    )


def user_task(task_id: str, name: str | None = None, **properties: str) -> str:
    """A user task; `properties` become its spiffworkflow properties (gate_item, go_live, ...)."""
    if not properties:
        return f'<bpmn:userTask id="{task_id}" name="{name or task_id}"/>'
    props = "".join(f'<spiffworkflow:property name="{k}" value="{v}"/>' for k, v in properties.items())
    return (
        f'<bpmn:userTask id="{task_id}" name="{name or task_id}"><bpmn:extensionElements>'
        f"<spiffworkflow:properties>{props}</spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>"
    )


def flow(flow_id: str, source: str, target: str) -> str:
    return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'


def chain(*ids: str, prefix: str = "f") -> str:
    """Sequence flows through `ids` in order."""
    return "\n".join(flow(f"{prefix}{i}_{a}_{b}", a, b) for i, (a, b) in enumerate(itertools.pairwise(ids)))


def catch(event_id: str, definition: str, *, properties: str = "") -> str:
    ext = (
        f"<bpmn:extensionElements><spiffworkflow:properties>{properties}</spiffworkflow:properties>"
        "</bpmn:extensionElements>"
        if properties
        else ""
    )
    return f'<bpmn:intermediateCatchEvent id="{event_id}">{ext}{definition}</bpmn:intermediateCatchEvent>'


def boundary(event_id: str, attached_to: str, definition: str, *, interrupting: bool = True) -> str:
    cancel = "true" if interrupting else "false"
    return (
        f'<bpmn:boundaryEvent id="{event_id}" attachedToRef="{attached_to}" cancelActivity="{cancel}">'
        f"{definition}</bpmn:boundaryEvent>"
    )


MESSAGE: Final = '<bpmn:messageEventDefinition messageRef="m_beta"/>'
HALT: Final = '<bpmn:messageEventDefinition messageRef="m_halt"/>'
SIGNAL: Final = '<bpmn:signalEventDefinition signalRef="s_freeze"/>'
ERROR: Final = '<bpmn:errorEventDefinition errorRef="e_legal"/>'
ESCALATION: Final = '<bpmn:escalationEventDefinition escalationRef="x_late"/>'
TERMINATE: Final = "<bpmn:terminateEventDefinition/>"


def timer(kind: str, value: str) -> str:
    return f"<bpmn:timerEventDefinition><bpmn:{kind}>{value}</bpmn:{kind}></bpmn:timerEventDefinition>"
