"""A command that would leave things as they are writes nothing: claiming a task you already hold, releasing
a task nobody holds, assigning a task to its assignee, setting a user's roles to the roles they have or
disabling a disabled user. It is allowed or refused like any other command; when allowed, no audit event,
no version bump, no outbox message, and the answer is the current state. Also when 20 claims of one task by
its future holder race on two engines (two server processes): exactly one `task.claimed` event."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine import AccountService, PermissionDeniedError, Role, TaskView, WorkflowEngine
from engine.domain import SYSTEM_ACTOR
from tests.engine.driver import (
    ADMIN,
    AUDITOR,
    MANAGER,
    PM,
    SUPPORT,
    SUPPORT_2,
    add_people,
    advance,
    open_task,
    restart,
    start,
)

RACERS = 20


def _events(engine: WorkflowEngine, launch_id: str) -> list[str]:
    return [e.action for e in engine.launch_history(launch_id=launch_id, actor=AUDITOR)]


def _review(engine: WorkflowEngine) -> tuple[str, TaskView]:
    add_people(engine)
    launch = advance(engine, start(engine), "draft_proposal")
    return launch.id, open_task(launch, "review_proposal")


def test_claim_writes_nothing_when_actor_already_holds_the_task(engine: WorkflowEngine) -> None:
    launch_id, review = _review(engine)
    engine.claim_task(task_id=review.id, actor=SUPPORT)
    version = engine.get_launch(launch_id=launch_id, actor=AUDITOR).version
    events = _events(engine, launch_id)

    for eng in (engine, restart(engine)):
        again = eng.claim_task(task_id=review.id, actor=SUPPORT)
        assert (again.id, again.assignee, again.status.value) == (review.id, SUPPORT.username, "ready")

    assert engine.get_launch(launch_id=launch_id, actor=AUDITOR).version == version
    assert _events(engine, launch_id) == events
    assert events.count("task.claimed") == 1


def test_release_writes_nothing_when_nobody_holds_the_task(engine: WorkflowEngine) -> None:
    launch_id, review = _review(engine)
    engine.claim_task(task_id=review.id, actor=SUPPORT)
    engine.release_task(task_id=review.id, actor=SUPPORT)
    version = engine.get_launch(launch_id=launch_id, actor=AUDITOR).version
    events = _events(engine, launch_id)

    for actor in (SUPPORT, SUPPORT_2, MANAGER):
        assert engine.release_task(task_id=review.id, actor=actor).assignee is None

    assert engine.get_launch(launch_id=launch_id, actor=AUDITOR).version == version
    assert _events(engine, launch_id) == events
    assert events.count("task.released") == 1


def test_release_of_a_task_nobody_holds_still_refused_when_actor_could_not_hold_it(
    engine: WorkflowEngine,
) -> None:
    launch_id, review = _review(engine)
    with pytest.raises(PermissionDeniedError):
        engine.release_task(task_id=review.id, actor=PM)
    assert _events(engine, launch_id)[-1] == "task.release_denied"


def test_assign_writes_nothing_when_assignee_already_holds_the_task(engine: WorkflowEngine) -> None:
    launch_id, review = _review(engine)
    engine.assign_task(task_id=review.id, assignee=SUPPORT_2.username, actor=MANAGER)
    version = engine.get_launch(launch_id=launch_id, actor=AUDITOR).version
    events = _events(engine, launch_id)

    again = engine.assign_task(task_id=review.id, assignee=SUPPORT_2.username.upper(), actor=MANAGER)
    assert again.assignee == SUPPORT_2.username
    assert engine.claim_task(task_id=review.id, actor=SUPPORT_2).assignee == SUPPORT_2.username

    assert engine.get_launch(launch_id=launch_id, actor=AUDITOR).version == version
    assert _events(engine, launch_id) == events
    assert events.count("task.assigned") == 1


def test_concurrent_claims_by_one_person_write_one_event_when_20_race_on_two_engines(
    engine: WorkflowEngine,
) -> None:
    launch_id, review = _review(engine)
    version = engine.get_launch(launch_id=launch_id, actor=AUDITOR).version
    engines = (engine, restart(engine))
    barrier = threading.Barrier(RACERS)

    def claim(i: int) -> str | None:
        barrier.wait(timeout=30)
        return engines[i % 2].claim_task(task_id=review.id, actor=SUPPORT).assignee

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        assignees = list(pool.map(claim, range(RACERS)))

    assert assignees == [SUPPORT.username] * RACERS
    assert _events(engine, launch_id).count("task.claimed") == 1
    assert engine.get_launch(launch_id=launch_id, actor=AUDITOR).version == version + 1


def test_user_update_writes_nothing_when_roles_or_state_are_already_so(engine: WorkflowEngine) -> None:
    add_people(engine)
    accounts = AccountService(engine.db, clock=engine.clock)
    user = accounts.create_user(
        username="una.user", password="una-password-12", roles=[Role.PM], actor=SYSTEM_ACTOR
    )

    def count() -> int:
        return len(engine.audit_events(actor=AUDITOR, limit=10_000))

    before = count()
    accounts.set_roles(user_id=user.id, roles=[Role.PM], actor=ADMIN)
    accounts.set_active(user_id=user.id, active=True, actor=ADMIN)
    assert count() == before
    accounts.set_active(user_id=user.id, active=False, actor=ADMIN)
    accounts.set_active(user_id=user.id, active=False, actor=ADMIN)
    assert count() == before + 1
    assert accounts.get_user(user_id=user.id, actor=ADMIN).active is False
