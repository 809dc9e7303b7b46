"""The launch notice: a send task after the PM's "Send launch notice" from launch gate v2 on; launches on v1
keep their version, where completing the user task (`sends = launch_notice_email`) queues the e-mail. Both
side by side, a fresh engine and a state round trip after every step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import Database, FixedClock, LaunchStatus, LaunchView, WorkflowEngine
from engine.db.models import OutboxMessageRecord
from tests.conftest import BPMN_DIR
from tests.engine.driver import (
    ADMIN,
    HAPPY_PATH,
    PM,
    assert_state_round_trips,
    complete,
    form,
    restart,
    shipped_form_files,
    start,
)

ROOT = Path(__file__).resolve().parents[2]
V1 = ROOT / "tests" / "fixtures" / "bpmn" / "launch_gate_v1.bpmn"


def _notices(engine: WorkflowEngine, launch_id: str) -> list[OutboxMessageRecord]:
    with engine.db.read() as session:
        return list(
            session.scalars(
                select(OutboxMessageRecord).where(
                    OutboxMessageRecord.launch_id == launch_id,
                    OutboxMessageRecord.kind == "launch_notice_email",
                )
            ).all()
        )


def _walk(engine: WorkflowEngine, launch: LaunchView, until: str) -> LaunchView:
    """The happy path up to (not including) `until`, each step on a fresh engine with a state round trip."""
    for bpmn_id in HAPPY_PATH[: HAPPY_PATH.index(until)]:
        engine = restart(engine)
        launch = complete(engine, launch, bpmn_id)
        assert_state_round_trips(engine, launch.id)
    return restart(engine).get_launch(launch_id=launch.id, actor=PM)


def _payload(record: OutboxMessageRecord) -> dict[str, Any]:
    return dict(record.payload)


def test_v1_launches_keep_sends_and_v2_launches_e_mail_through_the_send_task(
    database: Database, clock: FixedClock
) -> None:
    engine = WorkflowEngine(database, clock=clock)
    v1 = engine.deploy_process(xml=V1.read_bytes(), actor=ADMIN, files=shipped_form_files())
    old = start(engine)
    assert_state_round_trips(engine, old.id)
    v2 = [v for v in engine.sync_shipped_processes(BPMN_DIR) if v.process_id == "launch_gate"]
    assert [(v1.version, v.version) for v in v2] == [(1, 2)], "the shipped diagram is the next version"
    new = start(engine)
    assert (old.process_version, new.process_version) == (1, 2)

    old, new = _walk(engine, old, "send_launch_notice"), _walk(engine, new, "send_launch_notice")
    assert _notices(engine, old.id) == _notices(engine, new.id) == []
    notice = form("send_launch_notice")
    for launch in (old, new):
        complete(restart(engine), launch, "send_launch_notice", notice)
        assert_state_round_trips(engine, launch.id)
    old = restart(engine).get_launch(launch_id=old.id, actor=PM)
    new = restart(engine).get_launch(launch_id=new.id, actor=PM)
    assert (
        [t.bpmn_id for t in old.open_tasks]
        == [t.bpmn_id for t in new.open_tasks]
        == ["acknowledge_launch_notice"]
    )

    [by_user_task] = _notices(engine, old.id)
    [by_send_task] = _notices(engine, new.id)
    assert by_user_task.task_id is not None, "v1: the user task's `sends`"
    assert by_send_task.task_id is None and ":" in by_send_task.idempotency_key
    for record, launch in ((by_user_task, old), (by_send_task, new)):
        payload = _payload(record)
        assert payload["content"] == notice
        assert [t["bpmn_id"] for t in payload["next_tasks"]] == ["acknowledge_launch_notice"]
        assert payload["next_tasks"][0]["id"] == launch.open_tasks[0].id
    assert _payload(by_send_task)["connector_task"] == "email_launch_notice"

    for running in (old, new):
        for bpmn_id in ("acknowledge_launch_notice", "go_live"):
            running = complete(restart(engine), running, bpmn_id)  # noqa: PLW2901 - the launch moves on
            assert_state_round_trips(engine, running.id)
        assert running.status is LaunchStatus.LIVE
        assert len(_notices(engine, running.id)) == 1, "one notice per launch"
