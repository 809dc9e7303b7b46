"""Multi-instance user tasks: parallel and sequential, a collection from the launch data or a cardinality,
a completion condition over the documented counts, cancellation of the instances still open; every step
saved and restored. (Deploy-time refusals at the end.)"""

from __future__ import annotations

import pytest

from engine.specs.findings import Findings
from engine.specs.multi_instance import multi_instance_plans
from engine.xml_safety import parse_xml_document
from tests.engine.structure_support import Run, bundle, fixture

REGIONS = ["EMEA", "APAC", "AMER"]
_THREE = "<bpmn:loopCardinality>3</bpmn:loopCardinality>"


def _condition(text: str) -> str:
    return f"<bpmn:completionCondition>{text}</bpmn:completionCondition>"


def _review(decision: str) -> dict[str, str]:
    return {"decision": decision, "comment": ""}


def _regional(regions: list[str] = REGIONS) -> Run:
    run = Run(bundle(fixture("regional_review"), "regional_review"), {"product_name": "X"})
    run.complete("draft_proposal", "proposal", {"regions": regions})
    return run


def test_one_instance_per_region_each_with_its_element_and_progress() -> None:
    run = _regional()
    ready = run.workflow.ready_user_tasks()
    assert [(t.bpmn_id, t.instance and t.instance.label) for t in ready] == [
        ("regional_review", "EMEA"),
        ("regional_review", "APAC"),
        ("regional_review", "AMER"),
    ]
    first = ready[0].instance
    assert first is not None
    assert (first.index, first.total, first.done, first.needed, first.finished) == (1, 3, 0, 2, False)
    seen = run.workflow.data_for(ready[1].id)["instance"]
    assert seen == {"label": "APAC", "index": 2, "total": 3, "item": "APAC"}


def test_two_of_three_approvals_complete_it_and_cancel_the_third() -> None:
    run = _regional()
    run.complete("regional_review", "regional_review", _review("approve"), label="EMEA")
    progress = run.last
    assert progress is not None and (progress.done, progress.approved, progress.passed) == (1, 1, False)
    run.complete("regional_review", "regional_review", _review("reject"), label="APAC")
    assert run.ready() == ["regional_review"]  # AMER still open: 1 approval so far
    run.complete("regional_review", "regional_review", _review("approve"), label="AMER")
    progress = run.last
    assert progress is not None and (progress.done, progress.approved, progress.finished) == (3, 2, True)
    assert run.ready() == ["go_live"]
    reviews = run.workflow.data_for(run.workflow.ready_user_tasks()[0].id)["regional_review"]
    assert reviews == {"EMEA": _review("approve"), "APAC": _review("reject"), "AMER": _review("approve")}


def test_when_the_condition_holds_the_instances_still_open_are_cancelled() -> None:
    run = _regional()
    run.complete("regional_review", "regional_review", _review("approve"), label="AMER")
    run.complete("regional_review", "regional_review", _review("approve"), label="EMEA")
    progress = run.last
    assert progress is not None and (progress.done, progress.total, progress.passed) == (2, 3, True)
    assert run.ready() == ["go_live"]  # APAC's instance was cancelled
    run.complete("go_live", "go_live", {})
    assert run.workflow.is_finished()


def test_sequential_instances_run_one_after_the_other_in_order() -> None:
    run = Run(bundle(fixture("sequential_review"), "sequential_review"), {})
    run.complete("draft_proposal", "proposal", {"regions": []})
    for index in (1, 2, 3):
        [task] = run.workflow.ready_user_tasks()
        assert task.instance is not None and (task.instance.label, task.instance.done) == (
            str(index),
            index - 1,
        )
        run.complete("regional_review", "regional_review", _review("approve"))
    assert run.ready() == ["go_live"]


@pytest.mark.parametrize(("regions", "why"), [([], "has 0 elements"), (["R"] * 101, "has 101 elements")])
def test_a_collection_outside_the_bound_stops_with_a_clear_error(regions: list[str], why: str) -> None:
    from engine.errors import WorkflowStuckError

    run = Run(bundle(fixture("regional_review"), "regional_review"), {})
    with pytest.raises(WorkflowStuckError) as caught:
        run.complete("draft_proposal", "proposal", {"regions": regions})
    assert "multi-instance regional_review: proposal.regions" in caught.value.message
    assert why in caught.value.message


@pytest.mark.parametrize(
    ("loop", "message"),
    [
        (
            "<bpmn:loopCardinality>101</bpmn:loopCardinality>",
            "loopCardinality must be a whole number from 1 to 100",
        ),
        (
            _THREE + _condition("done &gt; 1"),
            "completionCondition reads done",
        ),
        (
            _THREE + _condition("approved &gt;= 4"),
            "can never hold with 3 instance(s)",
        ),
        ("", "needs exactly one of loopCardinality"),
    ],
)
def test_multi_instance_declarations_outside_the_contract_are_refused(loop: str, message: str) -> None:
    xml = fixture("sequential_review").decode()
    start = xml.index("<bpmn:multiInstanceLoopCharacteristics")
    end = xml.index("</bpmn:multiInstanceLoopCharacteristics>")
    changed = xml[:start] + f'<bpmn:multiInstanceLoopCharacteristics isSequential="true">{loop}' + xml[end:]
    found = Findings()
    multi_instance_plans(parse_xml_document(changed.encode()), found)
    assert [(p.element_id, message in p.message) for p in found.errors] == [("regional_review", True)], (
        found.errors
    )


def test_a_rework_loop_through_a_multi_instance_stays_flat() -> None:
    """Each round a region rejects (the other instance is cancelled) and the proposal is drafted again:
    the finished instances are dropped from the tree, so its size and depth do not grow with the rounds."""
    run = Run(bundle(fixture("regional_rework"), "regional_rework"), {})
    sizes = []
    for _ in range(30):
        run.complete("draft_proposal", "proposal", {})
        run.complete("regional_review", "regional_review", _review("reject"), label="1")
        assert run.ready() == ["draft_proposal"]
        sizes.append((run.workflow.task_count(), run.workflow.depth()))
    assert sizes[-1] == sizes[4], sizes
    run.complete("draft_proposal", "proposal", {})
    run.complete("regional_review", "regional_review", _review("approve"), label="2")
    run.complete("regional_review", "regional_review", _review("approve"), label="1")
    assert run.workflow.is_finished()
