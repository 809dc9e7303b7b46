"""tools/real_diagrams.py: the counts and the grouping over three diagrams written here (one loads, one is
refused, one loads with a warning), in text and in JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools.real_diagrams import kind, main, reason, summarise

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"'
    ' xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"'
    ' xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'
    ' id="defs" targetNamespace="https://launchgate.example/bpmn">\n'
)
INTERCHANGE = """
  <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="{process}">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start"><dc:Bounds x="100" y="100" width="36" height="36" />
    </bpmndi:BPMNShape>
    {middle}
    <bpmndi:BPMNShape id="end_di" bpmnElement="end"><dc:Bounds x="400" y="100" width="36" height="36" />
    </bpmndi:BPMNShape>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
</bpmn:definitions>
"""
LOADS = (
    HEAD
    + """  <bpmn:process id="plain" isExecutable="true">
    <bpmn:startEvent id="start" /><bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="flow" sourceRef="start" targetRef="end" />
  </bpmn:process>"""
    + INTERCHANGE.format(process="plain", middle="")
)
WARNS = LOADS.replace('isExecutable="true"', 'isExecutable="true" camunda:historyTimeToLive="P30D"')
REFUSED = (
    HEAD
    + """  <bpmn:process id="scripted" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:scriptTask id="compute_total" scriptFormat="python"><bpmn:script>total = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="flow_1" sourceRef="start" targetRef="compute_total" />
    <bpmn:sequenceFlow id="flow_2" sourceRef="compute_total" targetRef="end" />
  </bpmn:process>"""
    + INTERCHANGE.format(
        process="scripted",
        middle='<bpmndi:BPMNShape id="compute_total_di" bpmnElement="compute_total">'
        '<dc:Bounds x="200" y="80" width="100" height="80" /></bpmndi:BPMNShape>',
    )
)


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "loads.bpmn").write_text(LOADS, encoding="utf-8")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "warns.bpmn").write_text(WARNS, encoding="utf-8")
    (tmp_path / "refused.bpmn").write_text(REFUSED, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a diagram", encoding="utf-8")
    return tmp_path


def test_counts_and_groups(suite: Path) -> None:
    [summary] = summarise([suite])
    assert (summary.total, summary.loaded, summary.warned, summary.refused) == (3, 1, 1, 1)
    assert summary.slowest[0] > 0 and summary.slowest[1] in {
        "loads.bpmn",
        "nested/warns.bpmn",
        "refused.bpmn",
    }
    [refusal] = summary.refusals.values()
    assert "script" in refusal.reason
    assert refusal.kind == "deliberate"
    assert summary.deliberate_only == 1
    assert (refusal.files, refusal.alone) == (1, 1)
    assert (refusal.example_file, refusal.example_element, refusal.example_tag) == (
        "refused.bpmn",
        "compute_total",
        "scriptTask",
    )
    [warning] = summary.warnings.values()
    assert "camunda" not in warning.reason  # the namespace is blanked: one group for every vendor
    assert "namespace" in warning.reason
    assert (warning.files, warning.example_file) == (1, "nested/warns.bpmn")


def test_several_directories_add_up(suite: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    other = tmp_path_factory.mktemp("other")
    (other / "refused_too.bpmn").write_text(REFUSED.replace("compute_total", "add_up"), encoding="utf-8")
    first, second, overall = summarise([suite, other])
    assert (first.total, second.total, overall.total) == (3, 1, 4)
    assert overall.refused == 2
    [refusal] = overall.refusals.values()  # the ids differ, the reason is the same
    assert refusal.files == 2
    assert refusal.example_file == f"{suite.name}/refused.bpmn"


def test_the_cli_prints_text_and_json(suite: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(suite)]) == 0
    text = capsys.readouterr().out
    assert "3 files, 2 load (1 clean, 1 with warnings), 1 refused" in text
    assert "e.g. refused.bpmn compute_total <scriptTask>" in text
    assert main([str(suite), "--json"]) == 0
    [data] = json.loads(capsys.readouterr().out)
    assert (data["total"], data["loaded"], data["loaded_with_warnings"], data["refused"]) == (3, 1, 1, 1)
    assert data["refusals"][0]["example_tag"] == "scriptTask"


def test_a_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([str(tmp_path / "nowhere")])
    assert exit_info.value.code == 2


def test_reason_blanks_the_particulars() -> None:
    assert reason("expected exactly one start event, found 2") == "expected exactly one start event, found N"
    assert reason("a boundary timer must sit on a user task, not 'Task_1'") == reason(
        "a boundary timer must sit on a user task, not '_7e6ccf38-e740'"
    )
    assert reason("<bpmn:task> is not supported (line 12, column 3)") == "<task> is not supported (line …)"


def test_reason_blanks_unquoted_generated_ids() -> None:
    assert reason("the loop _2f24e6da-b44f → sid-00A82BF4 → Task_12 has no wait state") == reason(
        "the loop Activity_1 → Gateway_0x9 has no wait state"
    )
    assert reason("the diagram must be UTF-8 encoded") == "the diagram must be UTF-N encoded"


def test_refusals_are_told_apart() -> None:
    assert (
        kind(reason("script tasks are not allowed: Launch Gate never runs code from a diagram"))
        == "deliberate"
    )
    assert kind(reason("condition rejected: syntax error: invalid syntax (column 1)")) == "deliberate"
    assert kind(reason("the diagram is not well-formed XML: Blank needed here, line 1")) == "invalid"
    assert kind(reason("element has no outgoing flow")) == "rule"
    assert kind(reason("<resource> is not supported at the top level")) == "gap"


def test_lists_of_ids_group_whatever_their_length() -> None:
    two = "cannot tell which process a launch starts: 2 executable processes are called by none (_1, _2)"
    three = (
        "cannot tell which process a launch starts: 3 executable processes are called by none (a_1, b_1, c_1)"
    )
    assert reason(two) == reason(three)
    assert kind(reason("<schemaObjectDescription> is not supported by Launch Gate")) == "gap"


def test_an_apostrophe_is_not_a_quote() -> None:
    message = "condition rejected: the expression is empty. Expressions use Launch Gate's grammar: 'a == 1'"
    assert (
        reason(message)
        == "condition rejected: the expression is empty. Expressions use Launch Gate's grammar: '…'"
    )
