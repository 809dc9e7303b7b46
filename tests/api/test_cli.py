"""The `launchgate` command line, as an operator meets it: output and exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from engine import Database

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
runner = CliRunner()


def test_bpmn_check_prints_ok_when_diagram_is_valid() -> None:
    result = runner.invoke(app, ["bpmn", "check", str(ROOT / "bpmn" / "launch_gate.bpmn")])
    assert result.exit_code == 0, result.output
    assert "launch_gate.bpmn: OK" in result.output


@pytest.mark.parametrize(
    ("fixture", "element", "words"),
    [
        ("gate_bypass.bpmn", "go_live", "without passing gate item 'signoff'"),
        ("script_task.bpmn", "run_script", "script tasks are not allowed"),
        ("unsafe_expression.bpmn", "flow_signoff_decision_to_prepare", "condition rejected"),
        ("doctype_xxe.bpmn", "(document)", "DOCTYPE"),
    ],
)
def test_bpmn_check_names_element_and_fails_when_diagram_is_bad(
    fixture: str, element: str, words: str
) -> None:
    result = runner.invoke(app, ["bpmn", "check", str(FIXTURES / fixture)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if words in line]
    assert lines, result.output
    assert f": {element}: " in lines[0]


def test_bpmn_check_reports_every_problem_of_several_paths_and_a_zip(tmp_path: Path) -> None:
    import zipfile

    package = tmp_path / "package.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.write(ROOT / "bpmn" / "launch_gate.bpmn", "launch_gate.bpmn")
        for form in sorted((ROOT / "forms" / "launch_gate").glob("*.json")):
            archive.write(form, form.name)
        archive.writestr("../escape.json", "{}")
    hostile = FIXTURES / "hostile_interchange.bpmn"
    result = runner.invoke(app, ["bpmn", "check", str(ROOT / "bpmn"), str(package), str(hostile)])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"{ROOT / 'bpmn' / 'launch_gate.bpmn'}: OK" in lines  # bpmn/: each shipped package on its own
    assert f"{ROOT / 'bpmn' / 'minor_launch.bpmn'}: OK" in lines
    assert "error: ../escape.json: (document): the file name leaves the package ('..')" in lines
    assert f"{package}: cannot be deployed (1 diagram(s), 1 error(s), 0 warning(s))" in lines
    refused = [line for line in lines if line.startswith("error: hostile_interchange.bpmn: ")]
    assert len(refused) == 5  # the stylesheet, onload, the XHTML meta, two attributes
    assert any("<?xml-stylesheet" in line for line in refused)


def test_bpmn_check_exits_zero_with_warnings_only(tmp_path: Path) -> None:
    import shutil

    shipped = (ROOT / "bpmn" / "launch_gate.bpmn").read_bytes()
    (tmp_path / "bpmn").mkdir()
    bare = tmp_path / "bpmn" / "bare.bpmn"  # the repository layout: its forms in forms/bare/
    bare.write_bytes(shipped[: shipped.index(b"<bpmndi:BPMNDiagram")] + b"</bpmn:definitions>\n")
    shutil.copytree(ROOT / "forms" / "launch_gate", tmp_path / "forms" / "bare")
    result = runner.invoke(app, ["bpmn", "check", str(bare)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("warning: bare.bpmn: launch_gate: no diagram interchange")
    assert result.output.splitlines()[-1] == f"{bare}: OK (1 warning(s))"


def test_bpmn_check_fails_when_file_is_missing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["bpmn", "check", str(tmp_path / "nope.bpmn")])
    assert result.exit_code == 1
    assert "cannot read" in result.output


def test_bpmn_check_resolves_calls_against_a_database_when_given(tmp_path: Path) -> None:
    from engine import WorkflowEngine
    from tests.engine.driver import ADMIN

    corpus = ROOT / "tests" / "fixtures" / "corpus"
    caller = str(corpus / "call_activity_other_diagram.bpmn")
    url = f"sqlite:///{tmp_path / 'check.db'}"
    typo = runner.invoke(
        app, ["bpmn", "check", caller, "--database-url", f"sqlite:///{tmp_path / 'no' / 'x.db'}"]
    )
    assert typo.exit_code == 2 and "there is no SQLite database at" in typo.output
    assert not (tmp_path / "no").exists()  # a check only reads: nothing is made
    assert runner.invoke(app, ["db", "migrate", "--database-url", url]).exit_code == 0
    alone = runner.invoke(app, ["bpmn", "check", caller])
    assert alone.exit_code == 1
    assert "calls process 'support_readiness', which is neither in this diagram nor deployed" in alone.output
    assert "hint: no database was given: pass --database-url" in alone.output
    not_yet = runner.invoke(app, ["bpmn", "check", caller, "--database-url", url])
    assert not_yet.exit_code == 1 and "hint:" not in not_yet.output
    database = Database.from_url(url)
    try:
        called = (corpus / "support_readiness.bpmn").read_bytes()
        WorkflowEngine(database).deploy_process(xml=called, actor=ADMIN)
    finally:
        database.dispose()
    deployed = runner.invoke(app, ["bpmn", "check", caller, "--database-url", url])
    assert deployed.exit_code == 0, deployed.output
    assert deployed.output == f"{caller}: OK\n"


def test_demo_runs_launch_to_live_and_audit_verifies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrated = runner.invoke(app, ["db", "migrate", "--database-url", url])
    assert migrated.exit_code == 0, migrated.output
    assert "process launch_gate version 1" in migrated.output
    assert "process minor_launch version 1" in migrated.output
    demo = runner.invoke(app, ["demo", "--database-url", url])
    assert demo.exit_code == 0, demo.output
    assert "Launch status: live" in demo.output
    assert "request_changes" in demo.output
    verified = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert verified.exit_code == 0, verified.output
    assert verified.output.startswith("OK: 14 events, head ")  # 2 deploys, the demo launch's 12


def test_audit_verify_names_launch_position_and_sequence_when_row_was_edited(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    runner.invoke(app, ["db", "migrate", "--database-url", url])
    runner.invoke(app, ["demo", "--database-url", url])
    database = Database.from_url(url)
    with database.db_engine.begin() as conn:
        conn.execute(text("DROP TRIGGER audit_event_no_update"))
        conn.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE sequence = 5"))
    database.dispose()
    result = runner.invoke(app, ["audit", "verify", "--database-url", url])
    assert result.exit_code == 1
    assert result.output.startswith("BROKEN: launch ")
    assert "(sequence 5) was altered" in result.output


def test_commands_refuse_database_that_is_not_migrated(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "verify", "--database-url", f"sqlite:///{tmp_path / 'empty.db'}"])
    assert result.exit_code == 2
    assert "launchgate db migrate" in result.output
