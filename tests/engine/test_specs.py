"""Diagram loading and validation (RELIABILITY G8): the shipped diagram is the contract in
docs/design.md; defective or hostile diagrams are rejected naming the element, and a rejected deploy stores
and runs nothing. Deploys are versioned by content hash; a running launch stays on its version."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from engine import (
    Actor,
    DiagramRejectedError,
    LaunchStatus,
    PermissionDeniedError,
    ProcessVersionView,
    WorkflowEngine,
)
from engine.db.models import AuditEventRecord, ProcessVersionRecord
from engine.errors import DiagramProblem
from engine.forms.diagram import form_refs_in
from engine.specs import BPMN_NS, check_diagram, inspect_diagram, load_process
from engine.xml_safety import MAX_DIAGRAM_BYTES
from tests.engine import driver

ROOT = Path(__file__).resolve().parents[2]
BPMN_DIR = ROOT / "bpmn"
SHIPPED = BPMN_DIR / "launch_gate.bpmn"
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
NS = {"bpmn": BPMN_NS}

# docs/design.md, "Task ids (the shipped diagram)": role, document, reviews, gate_item, gate_part_of.
DESIGN_TASKS: dict[str, tuple[str, str, str | None, str | None, str | None]] = {
    "draft_proposal": ("pm", "proposal", None, None, "proposal_signoff"),
    "review_proposal": ("support_lead", "proposal_review", "proposal", "proposal_signoff", None),
    "revise_proposal": ("pm", "proposal", None, None, "proposal_signoff"),
    "open_beta": ("pm", "beta", None, None, "beta_faq"),
    "complete_beta_faq": ("support_lead", "beta_faq", None, "beta_faq", None),
    "draft_report_template": ("support_lead", "report_template", None, None, "report_template"),
    "review_report_template": ("pm", "report_template_review", "report_template", "report_template", None),
    "send_launch_notice": ("pm", "launch_notice", None, None, "launch_notice"),
    "acknowledge_launch_notice": ("support_lead", "launch_notice_ack", None, "launch_notice", None),
    "go_live": ("pm", "go_live", None, None, None),
}

# fixture → (element id of the problem, a word of its message)
DEFECTS: dict[str, tuple[str | None, str]] = {
    "doctype_xxe": (None, "DOCTYPE"),
    "entity_bomb": (None, "DOCTYPE"),
    "script_task": ("run_script", "script"),
    "unsafe_expression": ("flow_signoff_decision_to_prepare", "condition"),
    "gate_bypass": ("go_live", "signoff"),
    "prescript": ("prepare", "preScript"),
    "timer_and_service": ("call_service", "serviceTask"),
}

TIMER = b"""    <bpmn:boundaryEvent id="signoff_overdue" attachedToRef="signoff" cancelActivity="false">
      <bpmn:timerEventDefinition id="signoff_overdue_timer">
        <bpmn:timeDuration>in 24 hours</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
"""


def _fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.bpmn").read_bytes()


def _padded(data: bytes, size: int) -> bytes:
    """The same document grown to exactly `size` bytes with trailing whitespace (still well-formed)."""
    assert len(data) <= size
    return data + b"\n" * (size - len(data))


def _matching(problems: list[DiagramProblem], element_id: str | None, word: str) -> list[DiagramProblem]:
    return [p for p in problems if p.element_id == element_id and word.lower() in p.message.lower()]


def _counts(engine: WorkflowEngine) -> tuple[int, int]:
    with engine.db.read() as session:
        versions = session.scalar(select(func.count()).select_from(ProcessVersionRecord))
        events = session.scalar(select(func.count()).select_from(AuditEventRecord))
    return int(versions or 0), int(events or 0)


def _user_task_ids(path: Path) -> set[str]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.parse(str(path), parser).getroot()
    return {el.attrib["id"] for el in root.iterfind(".//bpmn:process/bpmn:userTask", NS)}


# ---------------------------------------------------------------------------------------- shipped diagram


def test_check_diagram_finds_no_problem_when_shipped_diagram() -> None:
    assert WorkflowEngine.check_diagram(SHIPPED.read_bytes()) == []


def test_load_process_reads_gate_items_in_flow_order_when_shipped_diagram() -> None:
    model = load_process(SHIPPED.read_bytes()).model

    assert model.process_id == "launch_gate"
    assert [g.key for g in model.gate_items] == [
        "proposal_signoff",
        "beta_faq",
        "report_template",
        "launch_notice",
    ]
    assert [g.task_id for g in model.gate_items] == [
        "review_proposal",
        "complete_beta_faq",
        "review_report_template",
        "acknowledge_launch_notice",
    ]
    assert [g.title for g in model.gate_items] == [
        "Proposal sign-off",
        "Beta FAQ",
        "Report template approved",
        "Launch notice",
    ]
    assert [g.position for g in model.gate_items] == sorted(g.position for g in model.gate_items)
    assert model.go_live_task == "go_live"
    assert [t.id for t in model.tasks.values() if t.go_live] == ["go_live"]


def test_load_process_matches_design_table_when_shipped_diagram() -> None:
    model = load_process(SHIPPED.read_bytes()).model

    found = {t.id: (t.role, t.document, t.reviews, t.gate_item, t.gate_part_of) for t in model.tasks.values()}

    assert found == DESIGN_TASKS
    assert {g.key: g.role for g in model.gate_items} == {
        "proposal_signoff": "support_lead",
        "beta_faq": "support_lead",
        "report_template": "pm",
        "launch_notice": "support_lead",
    }
    passes = {t.id: t.gate_pass_when.source for t in model.tasks.values() if t.gate_pass_when is not None}
    assert passes == {
        "review_proposal": "proposal_review.decision == 'approve'",
        "review_report_template": "report_template_review.decision == 'approve'",
    }
    assert {t.id: t.sends for t in model.tasks.values() if t.sends} == {}, "v2: a send task e-mails it"
    notice = model.connectors["email_launch_notice"]
    assert (notice.connector, notice.template, notice.document) == ("email", "launch_notice", "launch_notice")
    assert all(t.due_in_business_days for t in model.tasks.values())


def test_lanes_give_each_user_task_its_design_role_when_shipped_diagram() -> None:
    root = etree.fromstring(SHIPPED.read_bytes())
    lane_roles: dict[str, str] = {}
    for lane in root.iterfind(".//bpmn:lane", NS):
        prop = lane.find(".//{http://spiffworkflow.org/bpmn/schema/1.0/core}property[@name='role']")
        assert prop is not None, f"lane {lane.get('id')} names no role"
        role = prop.attrib["value"]
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lane_roles[(ref.text or "").strip()] = role

    assert {task: lane_roles[task] for task in DESIGN_TASKS} == {k: v[0] for k, v in DESIGN_TASKS.items()}
    assert lane_roles["start_launch"] == "pm"


def test_every_user_task_names_its_form_and_every_form_file_is_used_when_bpmn_dir() -> None:
    diagrams = sorted(BPMN_DIR.glob("*.bpmn"))
    assert diagrams
    for path in diagrams:
        named = {r.element_id: r for r in form_refs_in(path.read_bytes())}
        assert _user_task_ids(path) <= set(named), f"{path.name}: user tasks without a form file"
        files = {n for r in named.values() for n in (r.schema_file, r.ui_file)}
        folder = BPMN_DIR.parent / "forms" / path.stem
        assert files == {p.name for p in folder.glob("*.json")}, f"{path.name}: unused or missing form files"


# ---------------------------------------------------------------------------------------- defective diagrams


def test_check_diagram_finds_no_problem_when_minimal_gate_without_forms() -> None:
    assert check_diagram(_fixture("minimal_gate")) == []  # its tasks get the plain form


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_check_diagram_names_the_element_when_defective_fixture(name: str) -> None:
    element_id, word = DEFECTS[name]
    data = _fixture(name)

    problems = check_diagram(data, known_forms=None)  # forms aside: the defect alone rejects it

    assert _matching(problems, element_id, word), problems
    assert _matching(WorkflowEngine.check_diagram(data), element_id, word)
    with pytest.raises(DiagramRejectedError) as caught:
        load_process(data, known_forms=None)
    assert _matching(list(caught.value.problems), element_id, word)
    assert (element_id or "document") in caught.value.message
    assert not caught.value.too_large


def test_inspect_diagram_warns_and_accepts_when_exclusive_gateway_has_no_default() -> None:
    data = _fixture("missing_default_flow")

    found = inspect_diagram(data, known_forms=None)

    assert not found.errors
    [warning] = _matching(list(found.problems), "signoff_decision", "no default flow")
    assert "incident" in warning.message and not warning.is_error
    assert load_process(data, known_forms=None).model.go_live_task == "go_live"


def test_check_diagram_names_the_flow_when_condition_calls_a_function() -> None:
    data = _fixture("unsafe_expression")
    flows = etree.fromstring(data).iterfind(".//bpmn:sequenceFlow[bpmn:conditionExpression]", NS)
    unsafe = [f.get("id") for f in flows if "__import__" in f.findtext("bpmn:conditionExpression", "", NS)]

    problems = check_diagram(data, known_forms=None)

    assert unsafe == ["flow_signoff_decision_to_prepare"]
    assert [p.element_id for p in problems] == unsafe
    assert "function calls are not allowed" in problems[0].message


def test_check_diagram_never_echoes_file_contents_when_doctype_xxe() -> None:
    data = _fixture("doctype_xxe")
    secret_lines = [line for line in Path("/etc/passwd").read_text().splitlines() if line.strip()]

    problems = check_diagram(data, known_forms=None)
    with pytest.raises(DiagramRejectedError) as caught:
        load_process(data)

    assert [p.element_id for p in problems] == [None]
    assert "DOCTYPE" in problems[0].message
    messages = [p.message for p in problems] + [caught.value.message, str(caught.value)]
    assert not [line for line in secret_lines if any(line in m for m in messages)]
    assert "root:" not in " ".join(messages)


def test_check_diagram_rejects_entity_bomb_without_expanding_it() -> None:
    data = _fixture("entity_bomb")

    started = time.perf_counter()
    problems = check_diagram(data, known_forms=None)
    elapsed = time.perf_counter() - started
    print(f"\nentity bomb rejected in {elapsed * 1000:.2f} ms: {problems}")

    assert [p.element_id for p in problems] == [None]
    assert "DOCTYPE" in problems[0].message
    assert "lol" not in problems[0].message


def test_check_diagram_names_the_timer_when_boundary_timer_event() -> None:
    data = _fixture("minimal_gate").replace(
        b'    <bpmn:endEvent id="end"', TIMER + b'    <bpmn:endEvent id="end"'
    )
    assert b"signoff_overdue_timer" in data

    problems = check_diagram(data, known_forms=None)

    assert _matching(problems, "signoff_overdue", "not supported"), problems


def test_check_diagram_names_the_lane_when_its_role_works_no_tasks() -> None:
    data = _fixture("minimal_gate").replace(
        b'name="role" value="support_lead"', b'name="role" value="legal_team"'
    )
    assert b"legal_team" in data

    problems = check_diagram(data, known_forms=None)

    [problem] = _matching(problems, "lane_support_lead", "not a role that works tasks")
    assert "'legal_team'" in problem.message and "support_manager" in problem.message
    assert "auditor" not in problem.message  # auditors and admins read launches, they work no tasks


def test_load_process_rejects_as_too_large_when_one_byte_over_the_limit() -> None:
    assert MAX_DIAGRAM_BYTES == 1_000_000
    data = _padded(SHIPPED.read_bytes(), MAX_DIAGRAM_BYTES + 1)

    with pytest.raises(DiagramRejectedError) as caught:
        load_process(data)

    assert caught.value.too_large
    assert [p.element_id for p in caught.value.problems] == [None]
    assert str(MAX_DIAGRAM_BYTES) in caught.value.message
    assert len(WorkflowEngine.check_diagram(data)) == 1


def test_check_diagram_accepts_a_diagram_of_exactly_the_limit() -> None:
    assert WorkflowEngine.check_diagram(_padded(SHIPPED.read_bytes(), MAX_DIAGRAM_BYTES)) == []


@pytest.mark.parametrize("name", ["script_task", "timer_and_service"])
def test_check_diagram_names_only_the_unsupported_element_when_it_sits_on_the_path(name: str) -> None:
    element_id, _ = DEFECTS[name]

    problems = check_diagram(_fixture(name), known_forms=None)

    assert [p.element_id for p in problems] == [element_id], problems


# ---------------------------------------------------------------------------------------- deploys (database)


def test_deploy_process_stores_nothing_when_diagram_rejected(engine: WorkflowEngine) -> None:
    before = _counts(engine)
    hostile = [_fixture(name) for name in sorted(DEFECTS)]
    hostile.append(SHIPPED.read_bytes())  # structurally fine, but deployed without the form files it names
    hostile.append(_padded(SHIPPED.read_bytes(), MAX_DIAGRAM_BYTES + 1))

    for data in hostile:
        with pytest.raises(DiagramRejectedError) as caught:
            engine.deploy_process(xml=data, actor=driver.ADMIN)
        assert caught.value.problems

    assert _counts(engine) == before
    assert [v.version for v in _gate_versions(engine)] == [1]


@pytest.mark.parametrize(
    "actor", [driver.PM, driver.SUPPORT, driver.MANAGER, driver.AUDITOR], ids=lambda a: a.username
)
def test_deploy_process_is_denied_when_actor_is_not_admin(engine: WorkflowEngine, actor: Actor) -> None:
    before = _counts(engine)
    changed = SHIPPED.read_bytes().replace(b'name="Go Live"', b'name="Go Live Now"')

    with pytest.raises(PermissionDeniedError):
        engine.deploy_process(xml=changed, actor=actor)
    with pytest.raises(PermissionDeniedError):
        engine.deploy_process(xml=_fixture("script_task"), actor=actor)

    versions, events = _counts(engine)
    assert versions == before[0]
    assert events == before[1] + 2  # each refused attempt is one audit row (G7), nothing else is stored
    refused = engine.audit_events(actor=driver.ADMIN, after_sequence=before[1])
    assert [(e.action, e.actor) for e in refused] == [("process.deploy_denied", actor.username)] * 2


def _gate_versions(engine: WorkflowEngine) -> list[ProcessVersionView]:
    """The launch gate's versions (the shipped minor_launch is deployed beside it)."""
    return [v for v in engine.list_process_versions(actor=driver.ADMIN) if v.process_id == "launch_gate"]


def test_deploy_process_returns_the_stored_version_when_content_unchanged(engine: WorkflowEngine) -> None:
    [stored] = _gate_versions(engine)
    before = _counts(engine)

    again = engine.deploy_process(
        xml=SHIPPED.read_bytes(), actor=driver.ADMIN, files=driver.shipped_form_files()
    )

    assert (again.id, again.version, again.content_hash, again.is_latest) == (
        stored.id,
        1,
        stored.content_hash,
        True,
    )
    assert _counts(engine) == before


def test_launch_finishes_on_its_own_version_when_a_new_version_is_deployed(engine: WorkflowEngine) -> None:
    old = driver.advance(engine, driver.start(engine), "draft_proposal", "review_proposal")
    assert old.process_version == 1
    changed = (
        SHIPPED.read_bytes()
        .replace(b'name="Draft Proposal"', b'name="Draft the Proposal"')
        .replace(b'name="Go Live"', b'name="Go Live Now"')
    )
    versions_before, events_before = _counts(engine)

    deployed = engine.deploy_process(xml=changed, actor=driver.ADMIN, files=driver.shipped_form_files())

    assert (deployed.version, deployed.is_latest) == (2, True)
    assert _counts(engine) == (versions_before + 1, events_before + 1)
    assert [(v.version, v.is_latest) for v in _gate_versions(engine)] == [
        (1, False),
        (2, True),
    ]
    new = driver.start(engine)
    assert new.process_version == 2
    assert driver.open_task(new, "draft_proposal").title == "Draft the Proposal"

    old = driver.advance(engine, old, *driver.HAPPY_PATH[2:-1])
    assert driver.open_task(old, "go_live").title == "Go Live"  # created after the deploy, from version 1
    old = driver.complete(engine, old, "go_live")
    assert (old.status, old.process_version, old.gate_passed) == (LaunchStatus.LIVE, 1, 4)
    resumed = driver.restart(engine).get_launch(launch_id=old.id, actor=driver.PM)
    assert (resumed.status, resumed.process_version) == (LaunchStatus.LIVE, 1)
    assert engine.verify_audit().ok
