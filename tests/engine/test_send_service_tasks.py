"""Send and service tasks bound to built-in connectors (e-mail, signed webhook): at deploy anything else is an
error naming the element; at run time the task completes at once and its message is queued in the outbox
in the same transaction as the launch's new state. Fresh engine and state round trip after every step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine import FixedClock, LaunchStatus, LaunchView, WorkflowEngine
from engine.db.models import OutboxMessageRecord
from tests.engine import driver
from tests.engine.diagram_builder import Node, chain, diagram
from tests.engine.driver import ADMIN, PM, assert_state_round_trips, restart
from tests.engine.form_examples import VALID_LAUNCH_START

PROCESS = "connectors"
EMAIL = {
    "connector": "email",
    "to": "support-team@example.com, role:support_lead",
    "subject": "Launch prepared: {product_name}",
    "body": "{task}: {product_name} ({summary}) is prepared by {pm}.\nSee {launch_url}\n",
}
WEBHOOK = {"connector": "webhook", "url": "https://crm.example.com/hooks/launch", "documents": "prepare"}


def _diagram(first: str = "userTask") -> bytes:
    nodes = [
        Node("startEvent", "start"),
        Node(first, "prepare", props={"document": "prepare"}),
        Node("sendTask", "notify_support", name="Notify Support", props=EMAIL),
        Node("serviceTask", "tell_crm", name="Tell The CRM", props=WEBHOOK),
        Node("manualTask", "wrap_up"),
        Node("endEvent", "end"),
    ]
    return diagram(PROCESS, nodes, chain("start", "prepare", "notify_support", "tell_crm", "wrap_up", "end"))


@pytest.fixture
def connectors(engine: WorkflowEngine) -> WorkflowEngine:
    engine.deploy_process(xml=_diagram(), actor=ADMIN)
    return engine


def _messages(engine: WorkflowEngine, launch_id: str) -> list[tuple[str, dict[str, Any]]]:
    with engine.db.read() as session:
        found = session.scalars(
            select(OutboxMessageRecord)
            .where(OutboxMessageRecord.launch_id == launch_id)
            .order_by(OutboxMessageRecord.id)
        ).all()
        return [(m.kind, dict(m.payload)) for m in found if m.kind.startswith("connector_")]


def _start(engine: WorkflowEngine) -> LaunchView:
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id=PROCESS)
    assert_state_round_trips(engine, launch.id)
    return launch


def _complete(engine: WorkflowEngine, launch: LaunchView, bpmn_id: str, data: dict[str, Any]) -> LaunchView:
    engine.complete_task(task_id=driver.open_task(launch, bpmn_id).id, data=data, actor=PM)
    assert_state_round_trips(engine, launch.id)
    return restart(engine).get_launch(launch_id=launch.id, actor=PM)


def test_send_and_service_tasks_queue_their_messages_and_the_workflow_moves_on(
    connectors: WorkflowEngine,
) -> None:
    launch = _start(connectors)
    assert _messages(connectors, launch.id) == []
    launch = _complete(connectors, launch, "prepare", {"comment": "Ready."})
    assert [t.bpmn_id for t in launch.open_tasks] == ["wrap_up"], "the connector tasks never wait"
    [(email_kind, email), (hook_kind, hook)] = _messages(connectors, launch.id)
    assert (email_kind, hook_kind) == ("connector_email", "connector_webhook")
    assert email["to"] == {"addresses": ["support-team@example.com"], "roles": ["support_lead"]}
    assert email["subject"] == EMAIL["subject"]
    assert email["fields"]["product_name"] == VALID_LAUNCH_START["product_name"]
    assert email["fields"]["task"] == "Notify Support"
    assert hook["url"] == WEBHOOK["url"]
    assert hook["documents"] == {"prepare": {"comment": "Ready."}}
    launch = _complete(connectors, launch, "wrap_up", {})
    assert launch.status is LaunchStatus.LIVE
    assert len(_messages(connectors, launch.id)) == 2


def test_no_message_is_queued_when_the_step_is_not_stored(connectors: WorkflowEngine) -> None:
    launch = _start(connectors)

    def fail(_: str) -> None:
        raise RuntimeError("the write never happens")

    connectors.before_write = fail
    with pytest.raises(RuntimeError):
        connectors.complete_task(task_id=launch.open_tasks[0].id, data={}, actor=PM)
    connectors.before_write = None
    assert _messages(connectors, launch.id) == []
    again = restart(connectors).get_launch(launch_id=launch.id, actor=PM)
    assert [t.bpmn_id for t in again.open_tasks] == ["prepare"]
    launch = _complete(connectors, again, "prepare", {})
    assert [k for k, _ in _messages(connectors, launch.id)] == ["connector_email", "connector_webhook"]


def test_a_send_task_right_after_the_start_is_queued_with_the_new_launch(engine: WorkflowEngine) -> None:
    nodes = [
        Node("startEvent", "start"),
        Node("sendTask", "announce", props=EMAIL),
        Node("task", "done"),
        Node("endEvent", "end"),
    ]
    xml = diagram("announced", nodes, chain("start", "announce", "done", "end"))
    engine.deploy_process(xml=xml, actor=ADMIN)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id="announced")
    assert_state_round_trips(engine, launch.id)
    assert [k for k, _ in _messages(engine, launch.id)] == ["connector_email"]
    assert [t.bpmn_id for t in launch.open_tasks] == ["done"]


BAD = [
    ({}, "serviceTask has no 'connector' property"),
    ({"connector": "python"}, "serviceTask has connector 'python'"),
    ({"connector": "email", "subject": "x"}, "the e-mail connector needs 'to'"),
    ({"connector": "email", "to": "a@example.com"}, "needs a 'subject'"),
    ({"connector": "email", "to": "not an address", "subject": "x"}, "is not an e-mail address"),
    ({"connector": "email", "to": "role:wizard", "subject": "x"}, "names role 'wizard'"),
    ({"connector": "email", "to": "a@example.com", "subject": "{launch.__class__}"}, "is not allowed"),
    ({"connector": "email", "to": "a@example.com", "subject": "{product_name!r}"}, "is not allowed"),
    ({"connector": "email", "to": "a@example.com", "subject": "{product_name"}, "broken placeholder"),
    ({"connector": "email", "template": "jinja"}, "is not a built-in template"),
    ({"connector": "webhook"}, "needs a 'url'"),
    ({"connector": "webhook", "url": "http://crm.example.com/x"}, "must use https"),
    ({"connector": "webhook", "url": "ftp://crm.example.com/x"}, "must use https"),
    ({"connector": "webhook", "url": "https://user:pw@crm.example.com/x"}, "no user name"),
    ({"connector": "webhook", "url": "https://crm.example.com/x", "documents": "a b"}, "not a document name"),
    ({"connector": "webhook", "url": "https://crm.example.com/x", "subject": "x"}, "does not apply"),
]


@pytest.mark.parametrize(("props", "message"), BAD)
def test_a_service_task_without_a_built_in_connector_is_refused_at_deploy_naming_it(
    props: dict[str, str], message: str
) -> None:
    nodes = [Node("startEvent", "start"), Node("serviceTask", "call_out", props=props), Node("endEvent", "x")]
    problems = WorkflowEngine.check_diagram(diagram("bad", nodes, chain("start", "call_out", "x")))
    assert [p.element_id for p in problems] != []
    assert all(p.element_id == "call_out" for p in problems), problems
    assert any(message in p.message for p in problems), problems


def test_http_to_localhost_and_the_launch_notice_template_are_accepted() -> None:
    nodes = [
        Node("startEvent", "start"),
        Node("serviceTask", "local_hook", props={"connector": "webhook", "url": "http://127.0.0.1:8025/h"}),
        Node("sendTask", "notice", props={"connector": "email", "template": "launch_notice"}),
        Node("endEvent", "end"),
    ]
    xml = diagram("ok", nodes, chain("start", "local_hook", "notice", "end"))
    problems = WorkflowEngine.check_diagram(xml)
    assert problems == []


TIMER = (
    '<bpmn:timerEventDefinition><bpmn:timeDuration xsi:type="bpmn:tFormalExpression">'
    "'PT1H'</bpmn:timeDuration></bpmn:timerEventDefinition>"
)


def test_a_send_task_after_a_timer_is_queued_when_the_timer_fires(
    engine: WorkflowEngine, clock: FixedClock
) -> None:
    nodes = [
        Node("startEvent", "start"),
        Node("userTask", "prepare"),
        Node("intermediateCatchEvent", "an_hour_later", inner=TIMER),
        Node("sendTask", "remind", props=EMAIL),
        Node("task", "done"),
        Node("endEvent", "end"),
    ]
    xml = diagram("timed", nodes, chain("start", "prepare", "an_hour_later", "remind", "done", "end"))
    engine.deploy_process(xml=xml, actor=ADMIN)
    launch = engine.start_launch(data=dict(VALID_LAUNCH_START), actor=PM, process_id="timed")
    launch = _complete(engine, launch, "prepare", {})
    assert launch.open_tasks == () and _messages(engine, launch.id) == []
    clock.advance(timedelta(hours=1, seconds=1))
    assert restart(engine).fire_due_timers() == [launch.id]
    assert_state_round_trips(engine, launch.id)
    assert [k for k, _ in _messages(engine, launch.id)] == ["connector_email"]
    again = restart(engine).get_launch(launch_id=launch.id, actor=PM)
    assert [t.bpmn_id for t in again.open_tasks] == ["done"]
