"""Small, valid JSON-style payloads for every task form, keyed by BPMN task id.

Shared by the form tests and the workflow tests. Each payload is already in the form that
``validate_task_data`` returns (ISO dates, lower-case e-mail domains), so validating it gives it back.
Copy before changing: ``copy.deepcopy(VALID_FORM_DATA[task_id])``.
"""

from __future__ import annotations

VALID_LAUNCH_START: dict[str, object] = {
    "product_name": "Smart Invoices",
    "summary": "Automatic invoice reminders for small businesses.",
    "planned_launch_date": "2030-06-01",
}

_PROPOSAL: dict[str, object] = {
    "problem": "Customers forget to chase unpaid invoices.",
    "summary": "Send reminders for overdue invoices automatically.",
    "target_users": "Small businesses on the Pro plan.",
    "scope": "E-mail reminders only; no SMS.",
    "channels": ["web", "e-mail"],
    "support_regions": ["EMEA"],
    "planned_launch_date": "2030-06-01",
    "estimated_contacts_per_week": 40,
    "expected_question_types": ["How do I turn reminders off?"],
    "known_risks": [{"description": "Reminders sent for paid invoices", "mitigation": "Sync payments first"}],
}

_CONTACT: dict[str, object] = {"name": "Ada Lovelace", "email": "ada@example.com", "role": "Tech lead"}

VALID_FORM_DATA: dict[str, dict[str, object]] = {
    "draft_proposal": _PROPOSAL,
    "review_proposal": {
        "decision": "approve",
        "comment": "Looks good.",
        "anticipated_questions": [{"kind": "question", "text": "Can I change the reminder text?"}],
    },
    "revise_proposal": {**_PROPOSAL, "changes_made": "Limited the scope to e-mail."},
    "open_beta": {
        "beta_url": "https://beta.example.com/invoices",
        "test_accounts": [{"username": "support-1", "notes": "EU tenant"}],
        "beta_start": "2030-05-01",
        "beta_end": "2030-05-15",
    },
    "complete_beta_faq": {
        "faq_entries": [
            {
                "question": "How do I turn reminders on?",
                "answer": "Settings > Reminders.",
                "category": "Setup",
            },
            {"question": "How often are reminders sent?", "answer": "Every 7 days.", "category": "Usage"},
            {
                "question": "Can I stop a reminder?",
                "answer": "Yes, from the invoice page.",
                "category": "Usage",
            },
        ],
        "procedure_steps": ["Check the invoice status.", "Escalate to the tech lead if it is wrong."],
        "escalation_contacts": [_CONTACT],
        "beta_issues": [{"description": "Reminder sent twice once.", "severity": "medium"}],
    },
    "draft_report_template": {
        "metrics": [{"name": "Contacts", "definition": "Contacts about reminders per week."}],
        "categories": [{"name": "Reminders", "parent": None}, {"name": "Opt-out", "parent": "Reminders"}],
        "contact_fields": ["customer id", "category"],
        "cadence": "weekly",
    },
    "review_report_template": {"decision": "approve", "comment": ""},
    "send_launch_notice": {
        "launch_at": "2030-06-01T09:00:00+02:00",
        "what_changes": "Overdue invoices get automatic reminders.",
        "channels": ["web", "e-mail"],
        "known_issues": ["Reminder text cannot be changed yet."],
        "support_contacts": [_CONTACT],
        "rollback_plan": "Turn the reminders flag off.",
    },
    "acknowledge_launch_notice": {"staffing_confirmed": True, "faq_published": True, "open_questions": []},
    "go_live": {"confirm": True, "notes": ""},
}

# ------------------------------------------------------------------ minor_launch (bpmn/minor_launch.bpmn)

_ONE_PAGER: dict[str, object] = {
    "what_changes": "Invoices get a 'pay now' link in the reminder e-mail.",
    "target_users": "Small businesses on the Pro plan.",
    "channels": ["e-mail"],
    "planned_launch_date": "2030-06-01",
    "estimated_contacts_per_week": 5,
    "new_question_types": False,
    "new_questions": "",
    "risks": "",
    "changes_made": "",
}

MINOR_FORM_DATA: dict[str, dict[str, object]] = {
    "write_proposal": _ONE_PAGER,
    "revise_proposal": {**_ONE_PAGER, "changes_made": "Named the channel."},
    "support_review": {"decision": "approve", "comment": "Fine for support."},
    "write_faq": {
        "faq_entries": [
            {"question": "Where is the pay now link?", "answer": "At the bottom of the reminder."},
            {"question": "Can I turn the link off?", "answer": "Yes, in Settings > Reminders."},
        ]
    },
    "send_launch_notice": VALID_FORM_DATA["send_launch_notice"],
    "acknowledge_launch_notice": {
        "staffing_confirmed": True,
        "front_line_briefed": True,
        "open_questions": "",
    },
    "go_live": {"confirm": True, "notes": ""},
}
"""Demo data of every minor_launch task form, keyed by BPMN task id (a proposal that expects no new
question types: set ``new_question_types`` and ``new_questions`` for the FAQ path)."""
