"""E-mail over SMTP to a real server on loopback (aiosmtpd): the launch notice reaches the launch's support
distribution list (or the configured default) with its content and links; task assignments and review
outcomes reach the people concerned; a retry keeps the Message-ID."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import AccountService, FixedClock, WorkflowEngine
from engine.db.models import OutboxMessageRecord
from tests.engine import driver
from tests.worker.conftest import SmtpServer, make_worker


def _by_subject(server: SmtpServer, start: str) -> list[tuple[list[str], str, str]]:
    return [
        (sorted(r.rcpt_tos), str(r.message["Subject"]), r.text)
        for r in server.handler.accepted
        if str(r.message["Subject"]).startswith(start)
    ]


def test_launch_notice_reaches_the_launch_support_list_with_its_content(
    engine: WorkflowEngine, people: AccountService, smtp_server: SmtpServer
) -> None:
    worker = make_worker(engine, smtp=smtp_server)
    lists = ["frontline@example.com", "Support-Leads@Example.com"]
    launch = driver.advance_until(
        engine, driver.start(engine, support_distribution=lists), "acknowledge_launch_notice"
    )
    ack = driver.open_task(launch, "acknowledge_launch_notice")

    worker.tick()

    [(recipients, subject, text)] = _by_subject(smtp_server, "Launch notice")
    assert recipients == ["Support-Leads@example.com", "frontline@example.com"]
    assert subject == "Launch notice: Smart Invoices goes live 2030-06-01 09:00 (UTC+0200)"
    notice = driver.form("send_launch_notice")
    assert notice["what_changes"] in text
    assert notice["rollback_plan"] in text
    assert "Reminder text cannot be changed yet." in text
    assert "Ada Lovelace <ada@example.com> (Tech lead)" in text
    assert f"https://launchgate.example.org/launches/{launch.id}" in text
    assert f"Acknowledge this notice: https://launchgate.example.org/tasks/{ack.id}" in text
    [received] = [r for r in smtp_server.handler.accepted if str(r.message["Subject"]) == subject]
    assert received.mail_from == "launchgate@example.org"
    assert str(received.message["X-LaunchGate-Key"]).startswith(f"launch_notice_email:{launch.id}:")


def test_launch_notice_goes_to_the_default_list_when_the_launch_names_none(
    engine: WorkflowEngine, people: AccountService, smtp_server: SmtpServer
) -> None:
    worker = make_worker(engine, smtp=smtp_server, distribution=("support-team@example.com",))
    driver.advance_until(engine, driver.start(engine), "acknowledge_launch_notice")

    worker.tick()

    [(recipients, _, _)] = _by_subject(smtp_server, "Launch notice")
    assert recipients == ["support-team@example.com"]


def test_launch_notice_without_any_recipient_becomes_an_incident_at_once(
    engine: WorkflowEngine, people: AccountService, smtp_server: SmtpServer
) -> None:
    worker = make_worker(engine, smtp=smtp_server, distribution=())
    launch = driver.advance_until(engine, driver.start(engine), "acknowledge_launch_notice")

    worker.tick()

    [incident] = engine.list_incidents(launch_id=launch.id, actor=driver.PM)
    assert incident.kind == "launch_notice_email"
    assert incident.attempts == 1
    assert "no support distribution list" in (incident.last_error or "")


def test_assignment_and_review_outcome_reach_the_people_concerned(
    engine: WorkflowEngine, people: AccountService, smtp_server: SmtpServer
) -> None:
    worker = make_worker(engine, smtp=smtp_server)
    launch = driver.start(engine)
    launch = driver.complete(engine, launch, "draft_proposal")
    review = driver.open_task(launch, "review_proposal")
    engine.assign_task(task_id=review.id, assignee="sue.support", actor=driver.MANAGER)
    launch = engine.complete_task(
        task_id=review.id, data=driver.request_changes("review_proposal"), actor=driver.SUPPORT_2
    )

    worker.tick()

    [(queue, _, _)] = _by_subject(smtp_server, "New task for the support lead queue: Review Proposal")
    assert queue == ["sam@example.com", "sue@example.com"]
    [(assigned, _, text)] = _by_subject(smtp_server, "Assigned to you: Review Proposal")
    assert assigned == ["sue@example.com"]
    assert "max.manager assigned" in text
    [(outcome, _, text)] = _by_subject(smtp_server, "Review Proposal: request changes")
    assert outcome == ["pat@example.com"]  # the author of the proposal
    assert "Please add the support impact per channel." in text


def test_retry_keeps_the_message_id(
    engine: WorkflowEngine, clock: FixedClock, people: AccountService, smtp_server: SmtpServer
) -> None:
    worker = make_worker(engine, smtp=smtp_server, backoff_seconds=60)
    driver.advance_until(engine, driver.start(engine), "acknowledge_launch_notice")
    smtp_server.handler.stall_next = 1
    smtp_server.handler.release.set()  # the stalled attempt is refused at once (451)

    worker.tick()
    [refused] = smtp_server.handler.stalled
    assert refused.message["Message-ID"] not in smtp_server.handler.message_ids()
    clock.advance(timedelta(seconds=61))
    worker.tick()

    assert smtp_server.handler.message_ids().count(str(refused.message["Message-ID"])) == 1
    with engine.db.read() as session:
        attempts = session.execute(
            select(OutboxMessageRecord.attempts).where(
                OutboxMessageRecord.idempotency_key == refused.message["X-LaunchGate-Key"]
            )
        ).scalar_one()
    assert attempts == 2
