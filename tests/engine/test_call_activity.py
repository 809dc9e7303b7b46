"""Call activities at run time: the called process's user tasks are tasks of the launch, and only the
documents the call names pass in (`in`) and come back (`out`); every step saved and restored."""

from __future__ import annotations

from tests.engine.structure_support import Run, bundle, fixture


def test_the_called_process_runs_with_only_the_mapped_documents() -> None:
    spec = bundle(fixture("call_activity"), "calls_readiness")
    assert set(spec.subprocesses) == {"support_readiness_process"}
    run = Run(spec, {"product_name": "X"})
    run.complete("draft_proposal", "proposal", {"text": "p"})
    run.workflow.data_for(run.workflow.ready_user_tasks()[0].id)
    assert run.ready() == ["write_faq"]
    [faq] = run.workflow.ready_user_tasks()
    assert run.workflow.data_for(faq.id) == {"launch": {"product_name": "X"}, "proposal": {"text": "p"}}
    run.complete("write_faq", "faq", {"q": 1})
    run.complete("train_agents", "training", {"t": 1})
    [beta] = run.workflow.ready_user_tasks()
    seen = run.workflow.data_for(beta.id)
    assert seen["faq"] == {"q": 1}  # out: faq
    assert "training" not in seen  # not mapped out: stays in the called process
    run.complete("open_beta", "beta", {})
    assert run.workflow.is_finished()


# ---------------------------------------------------------------------------------------- through deploy

import pytest  # noqa: E402

from engine import DiagramRejectedError, LaunchStatus, LaunchView, WorkflowEngine  # noqa: E402
from tests.engine.driver import ADMIN, AUDITOR, PM, SUPPORT, assert_state_round_trips, restart  # noqa: E402
from tests.engine.form_examples import VALID_LAUNCH_START  # noqa: E402


class Launch:
    """One launch, a fresh engine (state from the rows) and a state round trip after every command."""

    def __init__(self, engine: WorkflowEngine, process_id: str) -> None:
        self.engine = engine
        self.view = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=process_id)
        self.check()

    def check(self) -> None:
        self.engine = restart(self.engine)
        assert_state_round_trips(self.engine, self.view.id)
        assert self.engine.get_launch(launch_id=self.view.id, actor=AUDITOR) == self.view

    def open(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.view.open_tasks)

    def complete(self, bpmn_id: str, data: dict[str, object]) -> LaunchView:
        task = next(t for t in self.view.open_tasks if t.bpmn_id == bpmn_id)
        who = PM if task.role == "pm" else SUPPORT
        self.view = self.engine.complete_task(task_id=task.id, data=data, actor=who)
        self.check()
        return self.view

    def data_of(self, bpmn_id: str) -> dict[str, object]:
        task = next(t for t in self.view.open_tasks if t.bpmn_id == bpmn_id)
        who = PM if task.role == "pm" else SUPPORT
        return self.engine.get_task(task_id=task.id, actor=who).current_data


def _run_to_end(launch: Launch) -> None:
    assert launch.open() == ["draft_proposal"]
    launch.complete("draft_proposal", {"comment": "p"})
    assert launch.open() == ["write_faq"]  # a task of the called process, with its own role
    [faq] = launch.view.open_tasks
    assert (faq.role, faq.title) == ("support_lead", "Write FAQ")
    launch.complete("write_faq", {"comment": "faq"})
    launch.complete("train_agents", {"comment": "trained"})
    assert launch.open() == ["open_beta"]
    launch.complete("open_beta", {})
    assert launch.view.status is LaunchStatus.LIVE


def test_a_call_to_a_process_of_the_same_file_runs_its_tasks_as_the_launch_s(engine: WorkflowEngine) -> None:
    engine.deploy_process(xml=fixture("call_activity"), actor=ADMIN)
    _run_to_end(Launch(engine, "calls_readiness"))


def test_a_call_to_a_deployed_process_is_pinned_to_the_version_deployed_then(engine: WorkflowEngine) -> None:
    engine.deploy_process(xml=fixture("readiness_called"), actor=ADMIN)
    engine.deploy_process(xml=fixture("calls_deployed"), actor=ADMIN)
    running = Launch(engine, "calls_deployed")
    running.complete("draft_proposal", {"comment": "p"})
    # The called process changes (its FAQ task is renamed): the calling version keeps the one it pinned.
    renamed = fixture("readiness_called").replace(b'name="Write FAQ"', b'name="Write the FAQ v2"')
    engine.deploy_process(xml=renamed, actor=ADMIN)
    running.engine = restart(engine)
    assert [t.title for t in running.view.open_tasks] == ["Write FAQ"]
    later = Launch(running.engine, "calls_deployed")  # the same calling version: still the pinned one
    later.complete("draft_proposal", {"comment": "p"})
    assert [t.title for t in later.view.open_tasks] == ["Write FAQ"]
    running.complete("write_faq", {"comment": "faq"})
    running.complete("train_agents", {"comment": "t"})
    running.complete("open_beta", {})
    assert running.view.status is LaunchStatus.LIVE
    # Deploying the caller again pins the newer called version: a new version of the caller.
    again = engine.deploy_process(xml=fixture("calls_deployed"), actor=ADMIN)
    assert again.version == 2
    fresh = Launch(restart(engine), "calls_deployed")
    fresh.complete("draft_proposal", {"comment": "p"})
    assert [t.title for t in fresh.view.open_tasks] == ["Write the FAQ v2"]


def test_a_call_to_an_unknown_process_is_refused_naming_the_call_activity(engine: WorkflowEngine) -> None:
    with pytest.raises(DiagramRejectedError) as caught:
        engine.deploy_process(xml=fixture("calls_deployed"), actor=ADMIN)
    assert [
        (p.element_id, "neither in this diagram nor deployed" in p.message) for p in caught.value.problems
    ] == [("call_readiness", True)]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (b'name="in" value="launch, proposal"', "passes in nothing_here"),
        (b'name="out" value="faq"', "takes back nothing_here"),
    ],
)
def test_mapping_names_nobody_writes_are_refused(mapping: bytes, message: str) -> None:
    from engine.specs import check_diagram

    xml = fixture("call_activity").replace(mapping, mapping[:-1] + b', nothing_here"')
    problems = check_diagram(xml)
    assert [(p.element_id, message in p.message) for p in problems] == [("call_readiness", True)], problems


def test_a_call_to_another_diagram_of_the_package_pins_the_version_deployed_with_it(
    engine: WorkflowEngine,
) -> None:
    from engine.packages import read_upload

    package = read_upload(
        [("calls.bpmn", fixture("calls_deployed")), ("called.bpmn", fixture("readiness_called"))]
    )
    deployed = engine.deploy_package(package=package, actor=ADMIN)
    assert sorted((v.process_id, v.version) for v in deployed) == [
        ("calls_deployed", 1),
        ("support_readiness_process", 1),
    ]
    _run_to_end(Launch(engine, "calls_deployed"))


def test_a_called_task_id_the_caller_also_uses_is_refused_at_deploy(engine: WorkflowEngine) -> None:
    clash = fixture("readiness_called").replace(b'"train_agents"', b'"draft_proposal"')
    clash = clash.replace(b'targetRef="train_agents"', b'targetRef="draft_proposal"')
    clash = clash.replace(b'sourceRef="train_agents"', b'sourceRef="draft_proposal"')
    clash = clash.replace(b"<bpmn:flowNodeRef>train_agents<", b"<bpmn:flowNodeRef>draft_proposal<")
    clash = clash.replace(b'bpmnElement="train_agents"', b'bpmnElement="draft_proposal"')
    engine.deploy_process(xml=clash, actor=ADMIN)
    with pytest.raises(DiagramRejectedError) as caught:
        engine.deploy_process(xml=fixture("calls_deployed"), actor=ADMIN)
    assert [p.element_id for p in caught.value.problems] == ["draft_proposal"]
    assert "task ids of a launch must differ" in caught.value.problems[0].message
