"""A scripted demo launch: every step of launch_gate, one round of proposal changes, then go-live.

Also the seed for `make run`'s demo data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from engine import AccountService, Actor, Database, GateBlockedError, LaunchView, Role, WorkflowEngine

DEMO_PM = Actor("pat.pm", frozenset({Role.PM}))
DEMO_SUPPORT = Actor("sam.support", frozenset({Role.SUPPORT_LEAD}))

_CONTACT = {"name": "Sam Support", "email": "sam.support@example.com", "role": "Support lead"}


def demo_forms(launch_day: date) -> dict[str, dict[str, Any]]:
    proposal = {
        "problem": "Small businesses forget to chase unpaid invoices and lose cash flow.",
        "summary": "Send polite reminders for overdue invoices automatically.",
        "target_users": "Owners of small businesses on the Pro plan.",
        "scope": "E-mail reminders in the web app; no SMS in this release.",
        "channels": ["web", "e-mail"],
        "support_regions": ["Global"],
        "planned_launch_date": launch_day.isoformat(),
        "estimated_contacts_per_week": 40,
        "expected_question_types": ["How do I turn reminders off?", "Why did a paid invoice get a reminder?"],
        "known_risks": [
            {"description": "Reminder sent for an invoice paid offline", "mitigation": "Mark paid first"}
        ],
    }
    return {
        "draft_proposal": proposal,
        "revise_proposal": {
            **proposal,
            "changes_made": "Added the opt-out path and the offline-payment risk.",
        },
        "review_proposal": {
            "decision": "approve",
            "comment": "Support is ready to take this on.",
            "anticipated_questions": [
                {"kind": "complaint", "text": "I was reminded about an invoice I paid."}
            ],
        },
        "open_beta": {
            "beta_url": "https://beta.example.com/invoices",
            "test_accounts": [{"username": "support-beta-1", "notes": "Pro plan"}],
            "beta_start": launch_day.replace(day=1).isoformat()
            if launch_day.day > 1
            else launch_day.isoformat(),
            "beta_end": launch_day.isoformat(),
        },
        "complete_beta_faq": {
            "faq_entries": [
                {
                    "question": "How do I turn reminders off?",
                    "answer": "Settings → Invoices → Reminders.",
                    "category": "settings",
                },
                {
                    "question": "When is a reminder sent?",
                    "answer": "3 days after the due date.",
                    "category": "timing",
                },
                {
                    "question": "Can I edit the text?",
                    "answer": "Yes, under Templates.",
                    "category": "content",
                },
            ],
            "procedure_steps": [
                "Check the invoice's payment status.",
                "Escalate wrong reminders to billing.",
            ],
            "escalation_contacts": [_CONTACT],
            "beta_issues": [{"description": "Reminder sent twice on time-zone change", "severity": "medium"}],
        },
        "draft_report_template": {
            "metrics": [{"name": "Contacts", "definition": "Tickets tagged invoice-reminders per week."}],
            "categories": [{"name": "Reminders", "parent": None}, {"name": "Opt-out", "parent": "Reminders"}],
            "contact_fields": ["plan", "invoice id"],
            "cadence": "weekly",
        },
        "review_report_template": {"decision": "approve", "comment": ""},
        "send_launch_notice": {
            "launch_at": datetime.combine(launch_day, datetime.min.time(), tzinfo=UTC)
            .replace(hour=9)
            .isoformat(),
            "what_changes": "Overdue invoices get automatic reminders.",
            "channels": ["web", "e-mail"],
            "known_issues": ["Reminders may be sent twice on a time-zone change."],
            "support_contacts": [_CONTACT],
            "rollback_plan": "Switch the reminders feature flag off.",
        },
        "acknowledge_launch_notice": {
            "staffing_confirmed": True,
            "faq_published": True,
            "open_questions": [],
        },
        "go_live": {"confirm": True, "notes": "Go."},
    }


def start_demo_launch(engine: WorkflowEngine, *, product_name: str = "Smart Invoices") -> LaunchView:
    launch_day = (datetime.now(UTC) + timedelta(days=30)).date()
    return engine.start_launch(
        data={
            "product_name": product_name,
            "summary": "Automatic reminders for overdue invoices.",
            "planned_launch_date": launch_day.isoformat(),
        },
        actor=DEMO_PM,
    )


def run_demo(engine: WorkflowEngine, *, echo: Callable[[str], None]) -> LaunchView:
    launch = start_demo_launch(engine)
    forms = demo_forms(launch.planned_launch_date)
    echo(f"Started launch {launch.id}: {launch.product_name}")
    changes_requested = False
    while launch.open_tasks:
        task = next((t for t in launch.open_tasks if not t.is_go_live), launch.open_tasks[0])
        actor = DEMO_PM if task.role == "pm" else DEMO_SUPPORT
        data = dict(forms[task.bpmn_id])
        if task.bpmn_id == "review_proposal" and not changes_requested:
            data = {
                **data,
                "decision": "request_changes",
                "comment": "Please describe how customers opt out.",
            }
            changes_requested = True
        if task.is_go_live and launch.blockers:
            echo(f"Go live is blocked by: {', '.join(b.describe() for b in launch.blockers)}")
        try:
            launch = engine.complete_task(task_id=task.id, data=data, actor=actor)
        except GateBlockedError as exc:  # pragma: no cover - the script follows the gate
            echo(exc.message)
            raise
        echo(f"  {actor.username:12} completed {task.title:28} gate {launch.gate_passed}/{launch.gate_total}")
    echo(f"Launch status: {launch.status.value}")
    echo("History:")
    for event in engine.launch_history(launch_id=launch.id, actor=DEMO_PM):
        title = event.detail.get("title", "")
        decision = event.detail.get("decision")
        extra = f" ({decision})" if decision else ""
        echo(f"  #{event.sequence:<4} {event.occurred_at}  {event.actor:12} {event.action} {title}{extra}")
    return launch


DEMO_USERS: tuple[tuple[str, str, Role, str], ...] = (
    ("pat.pm", "demo-pm-password", Role.PM, "Pat (Product Manager)"),
    ("sam.support", "demo-support-password", Role.SUPPORT_LEAD, "Sam (Support Lead)"),
    ("max.manager", "demo-manager-password", Role.SUPPORT_MANAGER, "Max (Support Manager)"),
    ("ann.auditor", "demo-auditor-password", Role.AUDITOR, "Ann (Auditor)"),
    ("ada.admin", "demo-admin-password", Role.ADMIN, "Ada (Admin)"),
)


def seed_demo(database: Database, *, echo: Callable[[str], None]) -> None:
    """Demo users, one per role, and one demo launch waiting for its proposal (only if none exists)."""
    accounts = AccountService(database)
    for username, password, role, name in DEMO_USERS:
        accounts.ensure_user(
            username=username,
            password=password,
            roles=[role],
            display_name=name,
            email=f"{username}@example.com",  # notifications land in the local SMTP sink
        )
    engine = WorkflowEngine(database)
    if engine.list_launches(actor=DEMO_PM).total == 0:
        start_demo_launch(engine)
    echo("Demo logins (user / password / role):")
    for username, password, role, _ in DEMO_USERS:
        echo(f"  {username:12} {password:24} {role.value}")
