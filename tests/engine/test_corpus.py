"""The corpus (tests/fixtures/corpus/, docs/corpus.md): every diagram deploys and every run of its script
(tests/fixtures/corpus/scripts/<name>.json) goes to its end through the engine API.

Each diagram is deployed in one package with the corpus diagrams it `needs` (e.g. the process its call
activity calls) and the corpus forms they name, after the diagrams deployed on their own first
(`deployed_first`); the deploy check warns about exactly the elements the
script names. A run starts a launch and then, step by step, completes an open task (with the script's
data, else the plain form's {}), delivers a message (the messages API's engine method) or lets time pass
on the test clock and fires the timers that are due. After EVERY step the engine is replaced by a fresh
one (no cached workflow: the launch comes back from its stored row alone), the stored state must
round-trip through restore/dump unchanged, and the open tasks (BPMN ids, one per multi-instance
instance) must be exactly what the script says. At the end the launch has the script's status, nothing
is open, the history holds one `task.completed` per completed step, in the script's order, and the
outbox holds what the diagram sent (connector messages, thrown messages and signals), in order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Actor, Database, FixedClock, LaunchView, TaskView, WorkflowEngine, read_upload
from tests.engine.driver import ADMIN, AUDITOR, MANAGER, PM, SUPPORT, add_people, assert_state_round_trips
from tests.engine.form_examples import VALID_LAUNCH_START

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
FORMS = CORPUS / "forms"
EFFECT_KINDS = ("connector_", "bpmn_event")
ACTORS = {"pm": PM, "support_lead": SUPPORT, "support_manager": MANAGER}
_FORM_FILE = re.compile(rb'name="formJsonSchemaFilename" value="([^"]+)"')
MINIMUM = 57  # diagrams on main so far; the issue asks for at least 30 (docs/corpus.md)
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$")


@dataclass(frozen=True)
class Case:
    diagram: str
    script: dict[str, Any]
    run: dict[str, Any]


def _cases() -> list[Any]:
    cases = []
    for path in sorted((CORPUS / "scripts").glob("*.json")):
        script = json.loads(path.read_text(encoding="utf-8"))
        for run in script["runs"]:
            case = Case(path.stem, script, run)
            cases.append(pytest.param(case, id=f"{path.stem}-{run['name']}"))
    return cases


def package_files(*names: str) -> list[tuple[str, bytes]]:
    """Corpus diagrams, one package, with the corpus forms they name."""
    diagrams = [(f"{name}.bpmn", (CORPUS / f"{name}.bpmn").read_bytes()) for name in names]
    forms = sorted({m.decode() for _, xml in diagrams for m in _FORM_FILE.findall(xml)})
    return [*diagrams, *((f, (FORMS / f).read_bytes()) for f in forms)]


def deploy(engine: WorkflowEngine, *names: str) -> list[str]:
    """Deploy corpus diagrams as one package (refused: DiagramRejectedError); the ids of the elements the
    check warns about (the package checked on its own: it does not see what is deployed)."""
    engine.deploy_package(package=read_upload(package_files(*names)), actor=ADMIN)
    report = engine.check_package(read_upload(package_files(*names)))
    return sorted({p.element_id or "" for p in report.problems if p.severity == "warning"})


def duration(text: str) -> timedelta:
    match = _DURATION.match(text)
    assert match, f"script duration {text!r} is not P<n>D, PT<n>H or PT<n>M"
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


def _actor(task: TaskView) -> Actor:
    return ACTORS.get(task.role, PM)


def _open_ids(launch: LaunchView) -> list[str]:
    return sorted(t.bpmn_id for t in launch.open_tasks)


def _act(engine: WorkflowEngine, clock: FixedClock, launch: LaunchView, step: dict[str, Any]) -> str | None:
    """Do one step; the BPMN id of the task it completed, if it completed one."""
    if "complete" in step:
        task = next((t for t in launch.open_tasks if t.bpmn_id == step["complete"]), None)
        assert task is not None, f"{step['complete']} is not open; open: {_open_ids(launch)}"
        engine.complete_task(task_id=task.id, data=step.get("data", {}), actor=_actor(task))
        return task.bpmn_id
    if "wait" in step:
        clock.advance(duration(step["wait"]))
        engine.fire_due_timers()
        return None
    if "message" in step:
        send = getattr(engine, "send_message", None)
        assert send is not None, "the engine has no send_message (the messages API) yet"
        send(launch_id=launch.id, name=step["message"], payload=step["payload"], actor=ADMIN)
        return None
    raise AssertionError(f"unknown script step {step}")


def _effects(engine: WorkflowEngine, launch_id: str) -> list[str]:
    """What the launch's diagram sent through the outbox (connector messages, thrown BPMN events), in order;
    the engine's own notifications (task available, reminders) left out."""
    from sqlalchemy import select

    from engine.db.models import OutboxMessageRecord as Row

    with engine.db.read() as session:
        kinds = session.execute(select(Row.kind).where(Row.launch_id == launch_id).order_by(Row.id)).scalars()
        return [k for k in kinds if k.startswith(EFFECT_KINDS)]


def _fresh(engine: WorkflowEngine, launch_id: str) -> tuple[WorkflowEngine, LaunchView]:
    """A new engine on the same rows (nothing cached), after checking the stored state round-trips."""
    engine = WorkflowEngine(engine.db, clock=engine.clock, holidays=engine.holidays)
    assert_state_round_trips(engine, launch_id)
    return engine, engine.get_launch(launch_id=launch_id, actor=AUDITOR)


@pytest.mark.parametrize("case", _cases())
def test_corpus_run_goes_to_its_end_with_save_and_restore_after_every_step(
    case: Case, database: Database, clock: FixedClock
) -> None:
    engine = WorkflowEngine(database, clock=clock)
    add_people(engine)
    for name in case.script.get("deployed_first", []):
        deploy(engine, name)
    assert deploy(engine, case.diagram, *case.script["needs"]) == case.script["warnings"]
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=case.script["process"])
    engine, launch = _fresh(engine, launch.id)
    assert _open_ids(launch) == case.run["open_at_start"]
    completed = []
    for number, step in enumerate(case.run["steps"], start=1):
        task = _act(engine, clock, launch, step)
        if task is not None:
            completed.append(task)
        engine, launch = _fresh(engine, launch.id)
        assert _open_ids(launch) == step["open"], f"after step {number} ({step})"
    assert launch.status.value == case.run["status"]
    assert launch.open_tasks == ()
    history = engine.launch_history(launch_id=launch.id, actor=AUDITOR)
    assert [e.detail["task"] for e in history if e.action == "task.completed"] == completed
    assert _effects(engine, launch.id) == case.run["outbox"]
    assert engine.verify_audit().ok


def test_every_corpus_diagram_has_a_script_and_diagram_interchange() -> None:
    diagrams = sorted(p.stem for p in CORPUS.glob("*.bpmn"))
    scripts = sorted(p.stem for p in (CORPUS / "scripts").glob("*.json"))
    assert len(diagrams) >= MINIMUM
    assert diagrams == scripts
    for name in diagrams:
        xml = (CORPUS / f"{name}.bpmn").read_bytes()  # not all of them UTF-8
        assert b"<bpmndi:BPMNPlane" in xml and b"<bpmndi:BPMNShape" in xml, name


def test_a_diagram_saved_in_latin1_keeps_its_accented_names(database: Database, clock: FixedClock) -> None:
    engine = WorkflowEngine(database, clock=clock)
    assert (
        (CORPUS / "latin1_encoding.bpmn")
        .read_bytes()
        .startswith(b'<?xml version="1.0" encoding="ISO-8859-1"?>')
    )
    deploy(engine, "latin1_encoding")
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id="latin1_encoding")
    engine, launch = _fresh(engine, launch.id)
    assert [t.title for t in launch.open_tasks] == ["Prüfung der Übersetzung"]
    assert launch.process_name == "Übersetzung"


def test_instances_of_a_multi_instance_manual_task_say_which_region_they_are(
    database: Database, clock: FixedClock
) -> None:
    engine = WorkflowEngine(database, clock=clock)
    deploy(engine, "mi_manual_and_plain_tasks")
    launch = engine.start_launch(
        data=dict(VALID_LAUNCH_START), actor=PM, process_id="mi_manual_and_plain_tasks"
    )
    [plan] = launch.open_tasks
    engine.complete_task(task_id=plan.id, data={"regions": ["EMEA", "APAC"]}, actor=PM)
    engine, launch = _fresh(engine, launch.id)
    briefs = sorted((t.instance_label, t.instance_total, t.role) for t in launch.open_tasks)
    assert briefs == [("APAC", 2, "support_lead"), ("EMEA", 2, "support_lead")]
