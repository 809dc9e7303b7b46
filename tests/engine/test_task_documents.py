"""Earlier documents beside a task's form (`reviews`, and `showDocuments`: comma-separated user task ids):
what each task of the shipped launch gate shows, the checks at deploy, and a launch of a version deployed
before `showDocuments` that keeps running once the new version is deployed."""

from __future__ import annotations

from pathlib import Path

from engine import SYSTEM_ACTOR, Actor, Database, FixedClock, LaunchStatus, WorkflowEngine, read_upload
from tests.engine.driver import (
    HAPPY_PATH,
    PM,
    SUPPORT,
    actor_for,
    advance,
    advance_until,
    complete,
    open_task,
    request_changes,
    shipped_form_files,
    start,
)

DIAGRAM = Path(__file__).resolve().parents[2] / "bpmn" / "launch_gate.bpmn"


def shown(engine: WorkflowEngine, launch_id: str, bpmn_id: str, actor: Actor) -> dict[str, dict[str, object]]:
    launch = engine.get_launch(launch_id=launch_id, actor=actor)
    detail = engine.get_task(task_id=open_task(launch, bpmn_id).id, actor=actor)
    return {doc.name: doc.data for doc in detail.documents}


def test_each_task_shows_the_documents_it_needs_beside_its_form(engine: WorkflowEngine) -> None:
    launch = start(engine)
    expected = {
        "draft_proposal": set(),
        "review_proposal": {"proposal"},
        "open_beta": set(),
        "complete_beta_faq": {"beta"},
        "draft_report_template": set(),  # the template's review is shown once there is one
        "review_report_template": {"report_template"},
        "send_launch_notice": set(),
        "acknowledge_launch_notice": {"launch_notice"},
        "go_live": {"launch_notice_ack"},
    }
    for bpmn_id in HAPPY_PATH:
        task = open_task(launch, bpmn_id)
        detail = engine.get_task(task_id=task.id, actor=actor_for(task))
        assert {d.name for d in detail.documents} == expected[bpmn_id], bpmn_id
        for doc in detail.documents:
            assert doc.data, doc.name
            assert doc.form.json_schema["properties"], doc.name  # labelled by the form it was written in
            assert doc.author in {PM.username, SUPPORT.username}
        launch = complete(engine, launch, bpmn_id)
    assert launch.status is LaunchStatus.LIVE


def test_revision_shows_the_reviewers_decision_and_comment(engine: WorkflowEngine) -> None:
    launch = advance(engine, start(engine), "draft_proposal")
    launch = complete(engine, launch, "review_proposal", request_changes("review_proposal"))
    documents = shown(engine, launch.id, "revise_proposal", PM)
    assert documents["proposal_review"]["decision"] == "request_changes"
    assert documents["proposal_review"]["comment"] == "Please add the support impact per channel."
    detail = engine.get_task(task_id=open_task(launch, "revise_proposal").id, actor=PM)
    assert [d.title for d in detail.documents] == ["Review Proposal — EMEA"]  # the one region's review


def test_report_redraft_shows_the_review_it_answers(engine: WorkflowEngine) -> None:
    launch = advance_until(engine, start(engine), "review_report_template")
    launch = complete(engine, launch, "review_report_template", request_changes("review_report_template"))
    documents = shown(engine, launch.id, "draft_report_template", SUPPORT)
    assert documents["report_template_review"]["decision"] == "request_changes"


def test_request_changes_mail_links_to_the_revision_not_the_review(engine: WorkflowEngine) -> None:
    from engine.db.models import OutboxMessageRecord

    launch = advance(engine, start(engine), "draft_proposal")
    review = open_task(launch, "review_proposal")
    launch = complete(engine, launch, "review_proposal", request_changes("review_proposal"))
    revision = open_task(launch, "revise_proposal")
    with engine.db.read() as session:
        [payload] = [
            r.payload for r in session.query(OutboxMessageRecord).all() if r.kind == "review_outcome"
        ]
    assert payload["task_id"] == revision.id
    assert payload["review_task_id"] == review.id


def _variant(**replacements: str) -> bytes:
    xml = DIAGRAM.read_text()
    for old, new in replacements.items():
        assert old in xml, old
        xml = xml.replace(old, new)
    return xml.encode()


def test_show_documents_naming_an_unknown_task_is_a_deploy_error() -> None:
    xml = _variant(**{'value="review_proposal" />\n': 'value="review_proposal, legal_review" />\n'})
    report = WorkflowEngine.check_package(
        read_upload([("launch_gate.bpmn", xml), *shipped_form_files().items()])
    )
    assert not report.deployable
    messages = [p.message for p in report.errors]
    assert any("showDocuments names 'legal_review'" in m for m in messages), messages


def test_launch_on_a_version_before_show_documents_runs_on_after_the_new_version(
    database: Database, clock: FixedClock
) -> None:
    engine = WorkflowEngine(database, clock=clock)  # nothing deployed yet
    old_xml = DIAGRAM.read_text()
    for line in [ln for ln in old_xml.splitlines(keepends=True) if 'name="showDocuments"' in ln]:
        old_xml = old_xml.replace(line, "")
    old = engine.deploy_process(xml=old_xml.encode(), actor=SYSTEM_ACTOR, files=shipped_form_files())
    launch = start(engine)
    assert launch.process_version == old.version  # the old diagram is the newest now
    launch = advance(engine, launch, "draft_proposal")
    new = engine.sync_shipped_processes(DIAGRAM.parent)
    assert [v.version for v in new if v.process_id == "launch_gate"] == [old.version + 1]
    assert start(engine).process_version == old.version + 1

    launch = complete(engine, launch, "review_proposal", request_changes("review_proposal"))
    assert shown(engine, launch.id, "revise_proposal", PM) == {}  # its version shows no documents
    launch = advance(engine, launch, "revise_proposal", *HAPPY_PATH[1:])
    assert launch.status is LaunchStatus.LIVE
    assert launch.process_version == old.version
