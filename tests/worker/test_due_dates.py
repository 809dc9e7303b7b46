"""Due dates: the diagram's default per task, per-launch overrides, weekends and holidays skipped, and the
planned launch date bounding the tasks that hold a gate item."""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import partial

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from engine import (
    AccountService,
    Database,
    FixedClock,
    LadderAction,
    LadderStep,
    SchedulePolicy,
    ValidationFailedError,
    WorkflowEngine,
)
from engine.scheduling import next_ladder_step, shift_business_days, task_due_at
from tests.conftest import BPMN_DIR
from tests.engine import driver
from tests.worker.conftest import PASSWORD

MONDAY = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
THURSDAY = datetime(2030, 3, 7, 9, 0, tzinfo=UTC)


def _at(day: int, hour: int = 9) -> datetime:
    return datetime(2030, 3, day, hour, 0, tzinfo=UTC)


def _engine(database: Database, start: datetime, **options: object) -> WorkflowEngine:
    engine = WorkflowEngine(database, clock=FixedClock(start), **options)  # type: ignore[arg-type]
    engine.sync_shipped_processes(BPMN_DIR)
    return engine


# ------------------------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("start", "days", "holidays", "expected"),
    [
        (THURSDAY, 1, (), _at(8)),  # Friday
        (THURSDAY, 2, (), _at(11)),  # over the weekend to Monday
        (THURSDAY, 3, (), _at(12)),
        (THURSDAY, 3, (date(2030, 3, 11),), _at(13)),  # Monday is a holiday
        (_at(8), -1, (), _at(7)),
        (_at(11), -1, (), _at(8)),  # back over the weekend to Friday
        (_at(12), -2, (date(2030, 3, 11),), _at(7)),  # Tuesday back past a holiday Monday and the weekend
        (MONDAY, 0, (), MONDAY),
    ],
)
def test_shift_business_days_skips_weekends_and_holidays(
    start: datetime, days: int, holidays: tuple[date, ...], expected: datetime
) -> None:
    assert shift_business_days(start, days, holidays) == expected


def test_task_due_at_is_bounded_by_the_planned_launch_date_when_task_holds_a_gate_item() -> None:
    policy = SchedulePolicy(support_days_before_launch=2)
    due_at = partial(task_due_at, now=MONDAY, task_id="t", overrides={}, policy=policy)
    friday_launch = date(2030, 3, 8)

    bounded = due_at(default_days=5, holds_gate_item=True, planned_launch_date=friday_launch)
    free = due_at(default_days=5, holds_gate_item=False, planned_launch_date=friday_launch)
    early = due_at(default_days=1, holds_gate_item=True, planned_launch_date=friday_launch)

    assert bounded == _at(6)  # two business days before Friday
    assert free == _at(11)
    assert early == _at(5)  # the default is earlier than the bound


def test_next_ladder_step_skips_steps_before_the_task_existed() -> None:
    ladder = SchedulePolicy().ladder
    due = _at(5)  # created Monday 09:00, due Tuesday 09:00: "one day before" is the creation itself

    assert next_ladder_step(due_at=due, created_at=MONDAY, start=0, ladder=ladder) == (1, _at(5))
    assert next_ladder_step(due_at=due, created_at=MONDAY, start=2, ladder=ladder) == (2, _at(6))
    assert next_ladder_step(due_at=due, created_at=MONDAY, start=3, ladder=ladder) == (3, None)
    assert next_ladder_step(due_at=None, created_at=MONDAY, start=0, ladder=ladder) == (3, None)


def test_schedule_policy_refuses_a_ladder_out_of_order() -> None:
    with pytest.raises(ValueError, match="increasing"):
        SchedulePolicy(ladder=(LadderStep(1, LadderAction.ESCALATE), LadderStep(0, LadderAction.REMIND)))


# ------------------------------------------------------------------------------------------- launches


def _due(engine: WorkflowEngine, launch_id: str, bpmn_id: str) -> datetime | None:
    launch = engine.get_launch(launch_id=launch_id, actor=driver.PM)
    return driver.open_task(launch, bpmn_id).due_at


def test_task_due_dates_follow_the_diagram_across_weekend_and_holiday(database: Database) -> None:
    engine = _engine(database, THURSDAY, holidays=[date(2030, 3, 11)])

    launch = driver.start(engine, planned_launch_date="2030-12-01")
    assert _due(engine, launch.id, "draft_proposal") == _at(15)  # Fri, (weekend, holiday) Tue-Fri
    launch = driver.complete(engine, launch, "draft_proposal")

    # review_proposal: 3 business days from Thursday, Monday a holiday → Wednesday
    assert _due(engine, launch.id, "review_proposal") == _at(13)


def test_due_overrides_per_launch_replace_the_diagram_default(database: Database) -> None:
    engine = _engine(database, MONDAY)

    launch = driver.start(
        engine, planned_launch_date="2030-12-01", due_overrides={"draft_proposal": 1, "review_proposal": 10}
    )
    assert launch.due_overrides == {"draft_proposal": 1, "review_proposal": 10}
    assert _due(engine, launch.id, "draft_proposal") == _at(5)
    launch = driver.complete(engine, launch, "draft_proposal")
    assert _due(engine, launch.id, "review_proposal") == _at(18)


def test_planned_launch_date_bounds_the_support_tasks(database: Database) -> None:
    engine = _engine(database, MONDAY, schedule=SchedulePolicy(support_days_before_launch=2))

    launch = driver.start(engine, planned_launch_date="2030-03-08")  # this Friday

    # draft_proposal is a step towards a gate item: due two business days before Friday, not in 5 days
    assert _due(engine, launch.id, "draft_proposal") == _at(6)


def test_launch_start_refuses_unknown_task_ids_and_bad_addresses(engine: WorkflowEngine) -> None:
    with pytest.raises(ValidationFailedError) as caught:
        driver.start(
            engine,
            support_distribution=["support@example.com", "not an address"],
            due_overrides={"no_such_task": 2},
        )

    locations = {p.loc[:2] for p in caught.value.problems}
    assert ("support_distribution", 1) in locations
    assert ("due_overrides", "no_such_task") in locations


def test_new_launch_page_and_api_take_the_support_list_and_due_days(
    engine: WorkflowEngine, people: AccountService
) -> None:
    app = create_app(Settings(database_url=engine.db.url), database=engine.db)
    with TestClient(app) as client:
        signed_in = client.post("/api/v1/auth/sign-in", json={"username": "pat.pm", "password": PASSWORD})
        csrf = signed_in.json()["csrf_token"]
        form = {
            "csrf_token": csrf,
            "product_name": "Page Launch",
            "summary": "Started from the page.",
            "planned_launch_date": "2030-12-01",
            "support_distribution": "frontline@example.com\n\n  leads@example.com  \n",
            "due_overrides": "draft_proposal = 2\nreview_proposal: 4\n",
        }
        page = client.post("/launches/new", data=form, follow_redirects=False)
        bad = client.post(
            "/launches/new",
            data={**form, "support_distribution": "nope", "due_overrides": "no_such_task = 2"},
            follow_redirects=False,
        )
        api = client.post(
            "/api/v1/launches",
            json={
                "product_name": "API Launch",
                "summary": "Started from the API.",
                "planned_launch_date": "2030-12-01",
                "support_distribution": ["api-list@example.com"],
                "due_overrides": {"draft_proposal": 1},
            },
            headers={"X-CSRF-Token": csrf},
        )

    assert page.status_code == 303, page.text
    launch_id = page.headers["location"].split("/launches/")[1].split("?")[0]
    launch = engine.get_launch(launch_id=launch_id, actor=driver.PM)
    assert launch.support_distribution == ("frontline@example.com", "leads@example.com")
    assert launch.due_overrides == {"draft_proposal": 2, "review_proposal": 4}
    assert bad.status_code == 422
    assert "address 1:" in bad.text and "no_such_task" in bad.text
    assert api.status_code == 201, api.text
    assert api.json()["support_distribution"] == ["api-list@example.com"]
    assert api.json()["due_overrides"] == {"draft_proposal": 1}
