"""A team in Sydney: business days, weekends and public holidays fall on Sydney's days, not UTC's
(LAUNCHGATE_TIMEZONE, LAUNCHGATE_HOLIDAYS_COUNTRY / _SUBDIV beside the manual LAUNCHGATE_HOLIDAYS), and the
pages show Sydney's time."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from engine import Database, FixedClock, WorkflowEngine
from tests.conftest import BPMN_DIR
from tests.engine import driver
from tests.worker.conftest import PASSWORD, insert_people

SYDNEY = ZoneInfo("Australia/Sydney")


def _sydney(**options: Any) -> Settings:
    return Settings(
        _env_file=None, timezone="Australia/Sydney", holidays_country="AU", holidays_subdiv="NSW", **options
    )


def _engine(database: Database, now: datetime, settings: Settings) -> WorkflowEngine:
    engine = WorkflowEngine(
        database,
        clock=FixedClock(now),
        holidays=settings.holiday_calendar(),
        schedule=settings.schedule_policy(),
    )
    engine.sync_shipped_processes(BPMN_DIR)
    return engine


def _draft_due(engine: WorkflowEngine) -> datetime:
    launch = driver.start(engine, planned_launch_date="2030-12-01", due_overrides={"draft_proposal": 1})
    due = driver.open_task(launch, "draft_proposal").due_at
    assert due is not None
    return due.astimezone(SYDNEY)


def test_a_task_started_on_sydneys_saturday_is_due_on_sydneys_monday(database: Database) -> None:
    # Friday 23:30 UTC is Saturday 10:30 in Sydney: one business day later is Monday 10:30 there
    # (in UTC it would have been Tuesday morning in Sydney).
    engine = _engine(database, datetime(2030, 3, 8, 23, 30, tzinfo=UTC), _sydney())

    assert _draft_due(engine) == datetime(2030, 3, 11, 10, 30, tzinfo=SYDNEY)


def test_easter_holidays_of_new_south_wales_are_skipped(database: Database) -> None:
    # Thursday 18 April 2030, 10:00 in Sydney: Good Friday, the weekend and Easter Monday are not business
    # days there, so a one-day task is due Tuesday 10:00.
    engine = _engine(database, datetime(2030, 4, 18, 10, 0, tzinfo=SYDNEY), _sydney())

    assert _draft_due(engine) == datetime(2030, 4, 23, 10, 0, tzinfo=SYDNEY)


def test_manual_holidays_count_beside_the_countrys(database: Database) -> None:
    settings = _sydney(holidays="2030-04-23")
    engine = _engine(database, datetime(2030, 4, 18, 10, 0, tzinfo=SYDNEY), settings)

    assert _draft_due(engine) == datetime(2030, 4, 24, 10, 0, tzinfo=SYDNEY)


def test_without_a_country_only_weekends_and_manual_days_are_skipped(database: Database) -> None:
    settings = Settings(_env_file=None, timezone="Australia/Sydney")
    engine = _engine(database, datetime(2030, 4, 18, 10, 0, tzinfo=SYDNEY), settings)

    assert _draft_due(engine) == datetime(2030, 4, 19, 10, 0, tzinfo=SYDNEY)


def test_pages_show_times_in_the_teams_time_zone(database: Database, password_hash: str) -> None:
    settings = _sydney(database_url=database.url)
    engine = _engine(database, datetime(2030, 4, 18, 10, 0, tzinfo=SYDNEY), settings)
    insert_people(database, password_hash=password_hash, now=engine.clock.now())
    launch = driver.start(engine, planned_launch_date="2030-12-01", due_overrides={"draft_proposal": 1})

    with TestClient(create_app(settings, database=database)) as client:
        client.post("/api/v1/auth/sign-in", json={"username": "pat.pm", "password": PASSWORD})
        page = client.get(f"/launches/{launch.id}")

    assert page.status_code == 200, page.text
    assert "2030-04-18 10:00 AEST" in page.text  # the gate item open since the start
    assert "2030-04-18 00:00 UTC" not in page.text


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("LAUNCHGATE_TIMEZONE", "Mars/Olympus", "timezone"),
        ("LAUNCHGATE_HOLIDAYS_COUNTRY", "ZZ", "holidays_country"),
        ("LAUNCHGATE_HOLIDAYS_SUBDIV", "NSW", "holidays_subdiv"),  # a subdivision without a country
    ],
)
def test_unknown_zone_country_or_subdivision_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, named: str
) -> None:
    monkeypatch.setenv(variable, value)

    with pytest.raises(ValueError, match=named):
        Settings(_env_file=None)


def test_holidays_are_computed_for_any_year() -> None:
    calendar = _sydney().holiday_calendar()

    assert date(2031, 1, 27) in calendar  # Australia Day observed on the Monday
    assert date(2047, 12, 25) in calendar
    assert date(2030, 4, 24) not in calendar
