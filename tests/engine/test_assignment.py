"""Assigning a task: the engine checks the assignee (an active user who holds the task's role), refuses
anyone else with a field error that is audited and changes nothing, and answers "who may this task be
assigned to" before anyone acts."""

from __future__ import annotations

import pytest

from engine import (
    Actor,
    AssigneeInvalidError,
    FixedClock,
    PermissionDeniedError,
    Role,
    ValidationFailedError,
    WorkflowEngine,
)
from tests.engine.driver import (
    AUDITOR,
    MANAGER,
    OTHER_PM,
    PM,
    SUPPORT,
    SUPPORT_2,
    add_people,
    advance,
    open_task,
    restart,
    start,
    stored_state,
)

RETIRED = Actor("rita.retired", frozenset({Role.SUPPORT_LEAD}))


@pytest.mark.parametrize(
    ("assignee", "message"),
    [
        ("nobody.here", "there is no active user named 'nobody.here'"),
        (RETIRED.username, "there is no active user named 'rita.retired'"),
        (OTHER_PM.username, "olga.pm does not hold the support_lead role this task needs"),
    ],
)
def test_assign_refused_with_a_field_error_when_assignee_is_unknown_inactive_or_lacks_the_role(
    engine: WorkflowEngine, clock: FixedClock, assignee: str, message: str
) -> None:
    add_people(engine)
    add_people(engine, RETIRED, active=False)
    launch = advance(engine, start(engine), "draft_proposal")
    review = open_task(launch, "review_proposal")
    state = stored_state(engine, launch.id)

    for eng in (engine, restart(engine)):
        with pytest.raises(AssigneeInvalidError, match=message) as refused:
            eng.assign_task(task_id=review.id, assignee=assignee, actor=MANAGER)
        assert isinstance(refused.value, ValidationFailedError)
        assert [(p.loc, p.message) for p in refused.value.problems] == [(("assignee",), message)]

    after = engine.get_launch(launch_id=launch.id, actor=AUDITOR)
    assert (after.version, open_task(after, "review_proposal").assignee) == (launch.version, None)
    assert stored_state(engine, launch.id) == state
    history = engine.launch_history(launch_id=launch.id, actor=AUDITOR)
    refusals = [e for e in history if e.action == "task.assign_invalid"]
    assert [(e.actor, e.task_id, e.detail) for e in refusals] == [
        (MANAGER.username, review.id, {"reason": message, "fields": ["assignee"]})
    ] * 2
    assert "task.assigned" not in {e.action for e in history}


def test_assign_refuses_an_actor_without_the_right_before_looking_at_the_assignee(
    engine: WorkflowEngine,
) -> None:
    add_people(engine)
    review = open_task(advance(engine, start(engine), "draft_proposal"), "review_proposal")
    with pytest.raises(PermissionDeniedError, match="only a support manager"):
        engine.assign_task(task_id=review.id, assignee="nobody.here", actor=PM)


def test_assign_takes_the_username_as_accounts_store_it(engine: WorkflowEngine) -> None:
    add_people(engine)
    review = open_task(advance(engine, start(engine), "draft_proposal"), "review_proposal")
    assigned = engine.assign_task(task_id=review.id, assignee="  Sue.Support ", actor=MANAGER)
    assert assigned.assignee == SUPPORT_2.username


def test_assignable_users_are_the_active_holders_of_the_role_for_whoever_may_assign(
    engine: WorkflowEngine,
) -> None:
    add_people(engine)
    add_people(engine, RETIRED, active=False)
    launch = advance(engine, start(engine), "draft_proposal")
    review = open_task(launch, "review_proposal")
    support_leads = (SUPPORT.username, SUPPORT_2.username)

    assert engine.assignable_users(task_id=review.id, actor=MANAGER) == support_leads
    # only support managers hand out support tasks
    for actor in (PM, SUPPORT, AUDITOR):
        assert engine.assignable_users(task_id=review.id, actor=actor) == ()

    # asking is not acting: every name offered is accepted, and nothing was written by asking
    assert engine.get_launch(launch_id=launch.id, actor=AUDITOR).version == launch.version
    for username in engine.assignable_users(task_id=review.id, actor=MANAGER):
        assert engine.assign_task(task_id=review.id, assignee=username, actor=MANAGER).assignee == username


def test_assignable_users_of_a_pm_task_only_for_the_launch_pm_and_none_once_done(
    engine: WorkflowEngine,
) -> None:
    add_people(engine)
    launch = start(engine)
    draft = open_task(launch, "draft_proposal")
    assert engine.assignable_users(task_id=draft.id, actor=PM) == (OTHER_PM.username, PM.username)
    for actor in (OTHER_PM, MANAGER):
        assert engine.assignable_users(task_id=draft.id, actor=actor) == ()
    advance(engine, launch, "draft_proposal")
    assert engine.assignable_users(task_id=draft.id, actor=PM) == ()
