"""Several processes side by side: each with its own versions, a launch names the one it runs (default the
launch gate), lists and the inbox say which process (name and version) a launch runs; a package with
several diagrams deploys in one transaction (all or nothing); the shipped sync deploys every package under
bpmn/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import (
    Database,
    FixedClock,
    ValidationFailedError,
    WorkflowEngine,
    read_path,
    read_upload,
)
from engine.db import repository
from tests.engine.driver import ADMIN, AUDITOR, PM, SUPPORT
from tests.engine.form_examples import VALID_LAUNCH_START

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"


def test_every_shipped_process_is_offered_with_its_description_and_start_form(engine: WorkflowEngine) -> None:
    found = {p.process_id: p for p in engine.list_processes(actor=PM)}
    assert sorted(found) == ["launch_gate", "minor_launch"]
    minor = found["minor_launch"]
    assert (minor.name, minor.version, minor.gated) == ("Minor Launch", 1, True)
    assert minor.description.startswith("A lighter gate for small features")
    assert list(minor.start_form_schema["properties"]) == ["product_name", "summary", "planned_launch_date"]
    assert found["launch_gate"].description.startswith("The full launch gate")


def test_a_launch_runs_the_process_it_names_and_lists_say_which(engine: WorkflowEngine) -> None:
    gate = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM)
    minor = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id="minor_launch")
    assert (gate.process_id, gate.process_name, gate.process_version) == ("launch_gate", "Launch Gate", 1)
    assert (minor.process_id, minor.process_name, minor.process_version) == (
        "minor_launch",
        "Minor Launch",
        1,
    )
    assert [t.bpmn_id for t in minor.open_tasks] == ["write_proposal"]
    listed = {v.id: (v.process_id, v.process_name) for v in engine.list_launches(actor=AUDITOR).items}
    assert listed == {gate.id: ("launch_gate", "Launch Gate"), minor.id: ("minor_launch", "Minor Launch")}
    inbox = {
        t.launch_id: (t.bpmn_id, t.process_name, t.process_version)
        for t in engine.list_tasks(actor=PM, inbox=True).items
    }
    assert inbox == {
        gate.id: ("draft_proposal", "Launch Gate", 1),
        minor.id: ("write_proposal", "Minor Launch", 1),
    }
    task = engine.get_task(task_id=minor.open_tasks[0].id, actor=PM).task
    assert (task.process_id, task.process_name) == ("minor_launch", "Minor Launch")


@pytest.mark.parametrize("process_id", ["legal_review", "", "x" * 300])
def test_starting_a_process_that_is_not_deployed_is_a_field_error_on_process(
    engine: WorkflowEngine, process_id: str
) -> None:
    with pytest.raises(ValidationFailedError) as refused:
        engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=process_id)
    [problem] = refused.value.problems
    assert (problem.loc, problem.type) == (("process",), "process_unknown")
    assert problem.message.startswith("Process: no process ")
    assert engine.list_launches(actor=AUDITOR).total == 0


def _two_diagram_package() -> list[tuple[str, bytes]]:
    """A package of two plain processes (no forms): the minimal gate fixture and a renamed copy."""
    one = (FIXTURES / "minimal_gate.bpmn").read_bytes()
    other = one.replace(b"minimal_gate", b"minimal_other")
    assert other != one
    return [("one.bpmn", one), ("other.bpmn", other)]


def test_a_package_of_two_diagrams_deploys_both_in_one_transaction(engine: WorkflowEngine) -> None:
    before = engine.verify_audit().count
    deployed = engine.deploy_package(package=read_upload(_two_diagram_package()), actor=ADMIN)
    ids = sorted(v.process_id for v in deployed)
    assert len(ids) == 2 and len(set(ids)) == 2
    assert engine.verify_audit().count == before + 2
    assert {p.process_id for p in engine.list_processes(actor=PM)} >= set(ids)


def test_a_package_whose_second_diagram_fails_to_store_leaves_nothing_deployed(
    engine: WorkflowEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before_versions = engine.list_process_versions(actor=ADMIN)
    before_audit = engine.verify_audit().count
    real = repository.add_process_version
    calls: list[str] = []

    def fail_on_second(*args: object, **kwargs: object) -> object:
        calls.append(str(kwargs["process_id"]))
        if len(calls) == 2:
            raise RuntimeError("the disk is full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "add_process_version", fail_on_second)
    with pytest.raises(RuntimeError, match="disk is full"):
        engine.deploy_package(package=read_upload(_two_diagram_package()), actor=ADMIN)
    assert len(calls) == 2, "the first diagram was stored before the second failed"
    monkeypatch.undo()
    fresh = WorkflowEngine(engine.db, clock=engine.clock)
    assert fresh.list_process_versions(actor=ADMIN) == before_versions
    assert fresh.verify_audit().count == before_audit


def test_shipped_sync_deploys_each_diagram_and_each_package_folder_under_bpmn(
    database: Database, clock: FixedClock, tmp_path: Path
) -> None:
    bpmn = tmp_path / "bpmn"
    shutil.copytree(ROOT / "bpmn", bpmn)
    shutil.copytree(ROOT / "forms", tmp_path / "forms", ignore=shutil.ignore_patterns("*.html", "tasks"))
    folder = bpmn / "minimal"
    folder.mkdir()
    for name, data in _two_diagram_package():
        (folder / name).write_bytes(data)
    engine = WorkflowEngine(database, clock=clock)
    deployed = engine.sync_shipped_processes(bpmn)
    assert sorted(v.process_id for v in deployed) == [
        "launch_gate",
        "minimal_gate",
        "minimal_other",
        "minor_launch",
    ]
    again = engine.sync_shipped_processes(bpmn)
    assert [v.id for v in again] == [v.id for v in deployed], "a second sync deploys nothing new"
    assert len(engine.list_process_versions(actor=SUPPORT)) == 4
    assert read_path(folder).problems == ()
