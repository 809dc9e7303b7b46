"""The reminder and escalation ladder with a fake clock: remind one business day before the due date,
remind at it, escalate to the support managers one business day after; each step audited, escalations on
the gate panel (view and page) and in the history; nothing fires twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.settings import Settings
from engine import AccountService, FixedClock, WorkflowEngine
from engine.db.models import OutboxMessageRecord
from tests.engine import driver
from tests.worker.conftest import SmtpServer, make_worker

MONDAY = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def _at(day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2030, 3, day, hour, minute, tzinfo=UTC)


def _ladder_events(engine: WorkflowEngine, launch_id: str) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.occurred_at[:16], str(e.detail.get("task")))
        for e in engine.launch_history(launch_id=launch_id, actor=driver.AUDITOR)
        if e.action in {"task.reminded", "task.escalated"}
    ]


def _messages(engine: WorkflowEngine, task_id: str) -> list[tuple[str, dict[str, object]]]:
    with engine.db.read() as session:
        rows = session.execute(
            select(OutboxMessageRecord)
            .where(OutboxMessageRecord.task_id == task_id, OutboxMessageRecord.kind.like("task_%"))
            .order_by(OutboxMessageRecord.id)
        ).scalars()
        return [(r.kind, dict(r.payload["to"])) for r in rows if r.kind != "task_available"]


def test_ladder_reminds_then_escalates_at_the_right_moments(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService, smtp_server: SmtpServer
) -> None:
    assert clock.now() == MONDAY
    worker = make_worker(engine, smtp=smtp_server)
    launch = driver.advance(engine, driver.start(engine), "draft_proposal")
    review = driver.open_task(launch, "review_proposal")
    assert review.due_at == _at(7)  # 3 business days

    moments = [
        (_at(5), []),
        (_at(6, 8, 59), []),
        (_at(6), [("task.reminded", "2030-03-06T09:00", "review_proposal")]),  # one day before
        (_at(6, 17), []),
        (_at(7), [("task.reminded", "2030-03-07T09:00", "review_proposal")]),  # at the due date
        (_at(8, 8, 59), []),
        (_at(8), [("task.escalated", "2030-03-08T09:00", "review_proposal")]),  # one day overdue
        (_at(11), []),  # nothing after the last step
        (_at(20), []),
    ]
    seen: list[tuple[str, str, str]] = []
    for moment, expected in moments:
        clock.set(moment)
        worker.tick()
        worker.tick()  # a second tick at the same moment does nothing more
        events = _ladder_events(engine, launch.id)
        assert events[len(seen) :] == expected, f"at {moment}: {events}"
        seen = events

    assert _messages(engine, review.id) == [
        ("task_reminder", {"roles": ["support_lead"]}),  # nobody has taken it yet: the role's queue
        ("task_reminder", {"roles": ["support_lead"]}),
        ("task_escalation", {"roles": ["support_manager"]}),
    ]
    reminders = [r for r in smtp_server.handler.accepted if "Reminder:" in str(r.message["Subject"])]
    escalations = [r for r in smtp_server.handler.accepted if "Escalation:" in str(r.message["Subject"])]
    assert [sorted(r.rcpt_tos) for r in reminders] == [["sam@example.com", "sue@example.com"]] * 2
    assert [r.rcpt_tos for r in escalations] == [["max@example.com"]]
    assert "Review Proposal" in escalations[0].text
    assert "https://launchgate.example.org/tasks/" in escalations[0].text

    after = engine.get_launch(launch_id=launch.id, actor=driver.PM)
    signoff = next(g for g in after.gate if g.key == "proposal_signoff")
    assert signoff.escalated_at == _at(8)
    assert driver.open_task(after, "review_proposal").escalated_at == _at(8)
    assert engine.verify_audit().ok


def test_ladder_reminds_the_assignee_once_the_task_is_taken(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService
) -> None:
    worker = make_worker(engine)
    launch = driver.advance(engine, driver.start(engine), "draft_proposal")
    review = driver.open_task(launch, "review_proposal")
    engine.claim_task(task_id=review.id, actor=driver.SUPPORT)

    clock.set(_at(6))
    worker.tick()

    assert _messages(engine, review.id) == [("task_reminder", {"users": ["sam.support"]})]


def test_ladder_stops_when_the_task_is_completed(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService
) -> None:
    worker = make_worker(engine)
    launch = driver.advance(engine, driver.start(engine), "draft_proposal")
    review = driver.open_task(launch, "review_proposal")
    clock.set(_at(6))
    worker.tick()
    driver.complete(engine, engine.get_launch(launch_id=launch.id, actor=driver.PM), "review_proposal")

    clock.set(_at(20))
    worker.tick()

    assert [kind for kind, _ in _messages(engine, review.id)] == ["task_reminder"]
    assert [a for a, _, t in _ladder_events(engine, launch.id) if t == "review_proposal"] == ["task.reminded"]


def test_ladder_catches_up_on_every_missed_step_after_downtime(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService
) -> None:
    worker = make_worker(engine)
    launch = driver.advance(engine, driver.start(engine), "draft_proposal")

    clock.set(_at(15))  # the worker was down all week
    worker.tick()

    steps = [a for a, _, t in _ladder_events(engine, launch.id) if t == "review_proposal"]
    assert steps == ["task.reminded", "task.reminded", "task.escalated"]


def test_escalation_shows_on_the_gate_panel_and_in_the_history_page(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService
) -> None:
    worker = make_worker(engine)
    launch = driver.advance(engine, driver.start(engine), "draft_proposal")
    clock.set(_at(8))
    worker.tick()
    app = create_app(Settings(database_url=engine.db.url), database=engine.db)
    user = people.find_user("max.manager")
    assert user is not None
    _, token = people.create_token(actor=user.actor(), name="ladder test")

    with TestClient(app) as client:
        # the page uses cookies; the API token gets us a session-less look at the JSON first
        api = client.get(f"/api/v1/launches/{launch.id}", headers={"Authorization": f"Bearer {token}"})
        signed_in = client.post(
            "/api/v1/auth/sign-in", json={"username": "max.manager", "password": "a-long-passphrase"}
        )
        page = client.get(f"/launches/{launch.id}")

    assert api.status_code == 200
    gate = {g["key"]: g for g in api.json()["gate"]}
    assert gate["proposal_signoff"]["escalated_at"] is not None
    assert signed_in.status_code == 200
    assert page.status_code == 200
    panel = page.text.split('class="gate"', 1)[1].split("</section>", 1)[0]
    assert "escalated" in panel
    history = page.text.split('class="history"', 1)[1]
    assert "escalated" in history and "reminded" in history
    assert "1 business day overdue" in history


def test_clock_moves_do_not_fire_a_step_early(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService
) -> None:
    worker = make_worker(engine)
    launch = driver.advance(engine, driver.start(engine), "draft_proposal")
    clock.set(_at(6) - timedelta(microseconds=1))

    worker.tick()

    assert _ladder_events(engine, launch.id) == []
