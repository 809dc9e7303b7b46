"""Implicit splits (engine/specs/implicit_splits.py): an activity or intermediate event with several
outgoing flows gets the gateway the modeler left out — parallel without conditions, inclusive with them —
in the document the checker, the gate check and SpiffWorkflow read; the stored diagram stays as drawn.
The runs themselves (both paths, conditions, the task's default flow) are corpus diagrams
(`implicit_split`, `conditional_flows_from_task` in tests/engine/test_corpus.py)."""

from __future__ import annotations

from lxml import etree

from engine.specs import check_diagram, load_process
from engine.specs.bpmn_xml import NS
from engine.specs.implicit_splits import explicit_splits
from tests.engine.bpmn_builder import Diagram


def _split_after_prepare(*, condition: str | None = None) -> Diagram:
    d = Diagram("split")
    prepare, faq, brief = d.task("prepare"), d.task("write_faq"), d.task("brief_support")
    join = d.gateway("join", "parallel")
    d.chain("start", prepare)
    d.flow(prepare, faq, condition)
    d.flow(prepare, brief)
    d.chain(faq, join)
    d.chain(brief, join, d.task("publish"), "end")
    return d


def _document(d: Diagram) -> etree._Element:
    root = etree.fromstring(d.xml())
    explicit_splits(root)
    return root


def test_a_task_with_two_flows_out_gets_a_parallel_gateway_after_it() -> None:
    root = _document(_split_after_prepare())
    [gateway] = root.iterfind(".//bpmn:parallelGateway[@id='prepare__split']", NS)
    flows = {
        f.get("id") or "": (f.get("sourceRef") or "", f.get("targetRef") or "")
        for f in root.iterfind(".//bpmn:sequenceFlow", NS)
    }
    assert flows["prepare__to_split"] == ("prepare", "prepare__split")
    assert sorted(t for s, t in flows.values() if s == "prepare__split") == ["brief_support", "write_faq"]
    assert [s for s, _ in flows.values()].count("prepare") == 1
    assert [r.text for r in gateway.iterfind("bpmn:outgoing", NS)] == [
        f for f, (s, _) in flows.items() if s == "prepare__split"
    ]


def test_a_condition_makes_it_inclusive_and_an_unconditional_flow_is_taken_every_time() -> None:
    root = _document(_split_after_prepare(condition="launch.product_name == 'Atlas'"))
    [gateway] = root.iterfind(".//bpmn:inclusiveGateway[@id='prepare__split']", NS)
    conditions = {
        f.get("targetRef"): f.findtext("bpmn:conditionExpression", None, NS)
        for f in root.iterfind(".//bpmn:sequenceFlow[@sourceRef='prepare__split']", NS)
    }
    assert conditions == {"write_faq": "launch.product_name == 'Atlas'", "brief_support": "True"}
    assert gateway.get("default") is None


def test_the_tasks_default_flow_becomes_the_gateways() -> None:
    d = _split_after_prepare(condition="launch.product_name == 'Atlas'")
    xml = d.xml().replace(b'id="prepare"', b'id="prepare" default="flow_prepare_brief_support"')
    root = etree.fromstring(xml)
    assert explicit_splits(root) == {"prepare__split": "prepare"}
    [task] = root.iterfind(".//bpmn:userTask[@id='prepare']", NS)
    [gateway] = root.iterfind(".//bpmn:inclusiveGateway", NS)
    assert task.get("default") is None
    assert gateway.get("default") == "flow_prepare_brief_support"


def test_an_id_already_taken_gets_a_fresh_one() -> None:
    d = _split_after_prepare()
    d.chain(d.task("prepare__split"), "end")
    root = _document(d)
    assert [g.get("id") for g in root.iterfind(".//bpmn:parallelGateway", NS) if g.get("id") != "join"] == [
        "prepare__split_2"
    ]


def test_the_diagram_loads_and_its_stored_text_is_as_drawn() -> None:
    data = _split_after_prepare().xml()
    assert [p for p in check_diagram(data) if p.is_error] == []
    assert b"__split" not in load_process(data).xml.encode()


def test_a_path_around_the_gate_item_through_an_implicit_split_is_refused() -> None:
    d = Diagram("bypass")
    prepare = d.task("prepare")
    signoff, go_live = d.task("signoff", gate="signoff"), d.task("go_live", go_live=True)
    join = d.gateway("merge")
    d.chain("start", prepare)
    d.flow(prepare, signoff)
    d.flow(prepare, join)  # the second way out of prepare skips the sign-off
    d.chain(signoff, join, go_live, "end")
    problems = [p.message for p in check_diagram(d.xml()) if p.is_error]
    assert any("without passing gate item 'signoff'" in m for m in problems), problems


def test_a_problem_of_the_drawn_gateway_is_named_on_the_element_the_modeler_drew() -> None:
    d = _split_after_prepare(condition="launch.product_name == 'Atlas'")
    xml = d.xml().replace(b'id="prepare"', b'id="prepare" default="no_such_flow"')
    problems = [(p.element_id, p.message) for p in check_diagram(xml)]
    assert problems == [
        (
            "prepare",
            "default flow 'no_such_flow' does not leave this gateway (the split after it, read as a gateway)",
        )
    ]
