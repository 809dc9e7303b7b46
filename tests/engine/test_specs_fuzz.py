"""The checker never raises and never hangs, whatever a diagram holds: real diagrams (the shipped ones and
the corpus) mutated at random — an element dropped, renamed to another BPMN construct, moved, duplicated,
an attribute changed or removed — are each answered with a list of problems (or none), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from engine.specs import inspect_diagram

ROOT = Path(__file__).resolve().parents[2]
DIAGRAMS = sorted([*(ROOT / "bpmn").glob("*.bpmn"), *(ROOT / "tests" / "fixtures" / "corpus").glob("*.bpmn")])
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
NAMES = [
    "userTask", "manualTask", "task", "scriptTask", "sendTask", "serviceTask", "receiveTask",
    "subProcess", "callActivity", "transaction", "adHocSubProcess", "businessRuleTask",
    "exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway", "complexGateway",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "timerEventDefinition", "messageEventDefinition", "compensateEventDefinition", "sequenceFlow",
    "lane", "laneSet", "multiInstanceLoopCharacteristics", "standardLoopCharacteristics",
    "dataStoreReference",
    "conditionExpression", "process", "collaboration", "participant", "unknownThing",
]  # fmt: skip
ATTRIBUTES = [
    "id", "sourceRef", "targetRef", "attachedToRef", "default", "calledElement", "isExecutable",
    "triggeredByEvent", "messageRef", "isSequential", "cancelActivity", "isForCompensation",
]  # fmt: skip
VALUES = [
    "",
    "x",
    "true",
    "false",
    "start",
    "end",
    "go_live",
    "'PT1H'",
    "R5/PT1M",
    "1 == 1",
    "__import__('os')",
]


def _mutate(root: etree._Element, draw: st.DrawFn) -> None:
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    for _ in range(draw(st.integers(1, 4))):
        target = elements[draw(st.integers(0, len(elements) - 1))]
        action = draw(st.sampled_from(["drop", "rename", "attribute", "unset", "duplicate", "move", "text"]))
        parent = target.getparent()
        if action == "drop" and parent is not None:
            parent.remove(target)
        elif action == "rename":
            target.tag = f"{{{BPMN}}}{draw(st.sampled_from(NAMES))}"
        elif action == "attribute":
            target.set(draw(st.sampled_from(ATTRIBUTES)), draw(st.sampled_from(VALUES)))
        elif action == "unset" and target.attrib:
            del target.attrib[draw(st.sampled_from(sorted(target.attrib)))]
        elif action == "duplicate" and parent is not None:
            parent.append(etree.fromstring(etree.tostring(target)))
        elif action == "move" and parent is not None:
            new_parent = elements[draw(st.integers(0, len(elements) - 1))]
            if target not in [new_parent, *new_parent.iterancestors()]:
                new_parent.append(target)
        elif action == "text":
            target.text = draw(st.sampled_from(VALUES))
        elements = [e for e in root.iter() if isinstance(e.tag, str)]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    path = draw(st.sampled_from(DIAGRAMS))
    root = etree.fromstring(path.read_bytes())
    _mutate(root, draw)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_inspect_diagram_answers_with_problems_never_a_traceback_when_real_diagram_mutated(
    data: bytes,
) -> None:
    found = inspect_diagram(data)

    assert all(p.message for p in found.problems)
    assert all(p.element_id is None or isinstance(p.element_id, str) for p in found.problems)


def test_the_fuzz_starts_from_diagrams_that_load() -> None:
    assert len(DIAGRAMS) >= 3
    assert not inspect_diagram((ROOT / "bpmn" / "launch_gate.bpmn").read_bytes()).errors
