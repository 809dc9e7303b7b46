"""A launch restored in a process that never ran a multi-instance still hears its instances complete.

The instances report to their multi-instance through an event of the spec. It was wired when the first
instance started, so a server process that restored the launch on a spec it had just built (two servers
behind one database, or a fresh cache) completed the last regional review and then found nothing ready.
Found on PostgreSQL by tests/api/test_http_launch.py, whose requests alternate between two servers."""

from __future__ import annotations

from engine import WorkflowEngine
from engine.specs import loading
from tests.engine import driver


def test_the_review_after_a_restore_on_a_freshly_built_spec_moves_the_launch_on(
    engine: WorkflowEngine,
) -> None:
    launch = driver.start(engine)
    launch = driver.complete(
        engine, launch, "draft_proposal", driver.form("draft_proposal", support_regions=["EMEA", "APAC"])
    )
    assert sorted(t.bpmn_id for t in launch.open_tasks) == ["review_proposal", "review_proposal"]

    loading._cached_load.cache_clear()  # the next engine builds its own specs, as another process would
    engine = WorkflowEngine(engine.db, clock=engine.clock, holidays=engine.holidays)
    launch = engine.get_launch(launch_id=launch.id, actor=driver.AUDITOR)
    launch = driver.complete(engine, launch, "review_proposal")
    loading._cached_load.cache_clear()
    engine = WorkflowEngine(engine.db, clock=engine.clock, holidays=engine.holidays)
    launch = engine.get_launch(launch_id=launch.id, actor=driver.AUDITOR)
    launch = driver.complete(engine, launch, "review_proposal")
    assert sorted(t.bpmn_id for t in launch.open_tasks) == ["draft_report_template", "open_beta"]
    driver.assert_state_round_trips(engine, launch.id)
