"""The README's worked example stays true: docs/examples/legal_review/ (the launch gate with a "Legal review"
gate item and its form), deployed beside the shipped forms as the README says, runs a launch through the
legal review to go-live; its form refuses its rule's violation with the rule's message."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import LaunchStatus, ValidationFailedError, WorkflowEngine, read_upload
from tests.engine.driver import ADMIN, AUDITOR, HAPPY_PATH, MANAGER, PM, advance, form, open_task, start

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "legal_review"


def _example_upload() -> list[tuple[str, bytes]]:
    """The README's upload: the example's files plus the shipped launch gate's form files."""
    files = sorted(EXAMPLE.iterdir()) + sorted((ROOT / "forms" / "launch_gate").glob("*.json"))
    return [(p.name, p.read_bytes()) for p in files]


def test_legal_review_example_deploys_and_a_launch_goes_live_through_it(engine: WorkflowEngine) -> None:
    report = engine.check_package(read_upload(_example_upload()))
    assert report.deployable and report.problems == (), report.lines()
    [version] = engine.deploy_package(package=read_upload(_example_upload()), actor=ADMIN)
    assert (version.process_id, version.version, version.is_latest) == ("launch_gate", 2, True)

    launch = advance(engine, start(engine), *HAPPY_PATH[:-1])
    assert launch.process_version == 2
    assert [b.item for b in launch.blockers] == ["legal_review"]
    review = open_task(launch, "legal_review")
    assert (review.role, review.gate_item) == ("support_manager", "legal_review")
    detail = engine.get_task(task_id=review.id, actor=MANAGER)
    assert detail.reviewed_document == "launch_notice"

    with pytest.raises(ValidationFailedError) as refused:
        engine.complete_task(task_id=review.id, data={"cleared": True, "changes_terms": True}, actor=MANAGER)
    [problem] = refused.value.problems
    assert (problem.loc, problem.message) == (
        ("terms_url",),
        "Updated terms: link the updated terms when the launch changes them",
    )
    cleared = {"cleared": True, "changes_terms": True, "terms_url": "https://example.com/terms/v2"}
    launch = engine.complete_task(task_id=review.id, data=cleared, actor=MANAGER)
    assert launch.blockers == ()
    live = engine.complete_task(task_id=open_task(launch, "go_live").id, data=form("go_live"), actor=PM)
    assert live.status is LaunchStatus.LIVE
    gate = {g.key: g.passed_by for g in engine.get_launch(launch_id=live.id, actor=AUDITOR).gate}
    assert gate["legal_review"] == MANAGER.username
