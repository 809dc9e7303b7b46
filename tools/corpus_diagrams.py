"""The corpus: small diagrams, one or more per BPMN construct Launch Gate runs, and a few combined "real
launch" ones, each with the script the corpus harness drives it by (tests/engine/test_corpus.py).

    .venv/bin/python -m tools.corpus_diagrams          # writes tests/fixtures/corpus/*.bpmn + scripts/*.json

The written files are committed; this module is how they were made (docs/corpus.md lists them).
"""

# ruff: noqa: E501, PLR0917, S106 - a table of diagrams: one line per element reads best; S106 takes
# gate_pass_when for a password

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from tools.corpus_dsl import (
    PM_LANE,
    TWO_LANES,
    Entry,
    Run,
    approve,
    boundary,
    chain,
    changes,
    done,
    end,
    error,
    error_def,
    escalation,
    escalation_def,
    gateway,
    message,
    message_def,
    node,
    send,
    signal,
    signal_def,
    single,
    start,
    sub,
    timer,
    user,
    wait,
)
from tools.corpus_layout import Diagram, Flow, Lane, Node, Pool, to_xml

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
PM_ROWS_2 = [Lane("lane_pm", "Product Manager", "pm", (0, 2))]
PM_ROWS_3 = [Lane("lane_pm", "Product Manager", "pm", (0, 3))]
PM_ROWS_4 = [Lane("lane_pm", "Product Manager", "pm", (0, 4))]
SUPPORT_LANE = [Lane("lane_support", "Support Lead", "support_lead", (0, 1))]
SUPPORT_ROWS_2 = [Lane("lane_support", "Support Lead", "support_lead", (0, 2))]
ENTRIES: list[Callable[[], Entry]] = []


def entry(make: Callable[[], Entry]) -> Callable[[], Entry]:
    ENTRIES.append(make)
    return make


# ------------------------------------------------------------------------------------------------ tasks


@entry
def user_tasks() -> Entry:
    nodes = [
        start(),
        user("draft_plan", "Draft Plan", 1, 0),
        user("review_plan", "Review Plan", 2, 1),
        user("publish_plan", "Publish Plan", 3, 0),
        end(4),
    ]
    return Entry(
        single(
            "user_tasks",
            "User Tasks",
            nodes,
            chain("start", "draft_plan", "review_plan", "publish_plan", "end"),
            TWO_LANES,
        ),
        "User tasks in two lanes: each goes to its lane's role.",
        ["user task", "lanes with roles"],
        [
            Run(
                "straight",
                ["draft_plan"],
                [
                    done("draft_plan", "review_plan"),
                    done("review_plan", "publish_plan"),
                    done("publish_plan"),
                ],
            )
        ],
    )


@entry
def manual_and_plain_tasks() -> Entry:
    nodes = [
        start(),
        node("manualTask", "print_posters", "Print Posters", 1, 0),
        node("task", "call_the_press", "Call The Press", 2, 0),
        end(3),
    ]
    return Entry(
        single(
            "manual_and_plain_tasks",
            "Manual And Plain Tasks",
            nodes,
            chain("start", "print_posters", "call_the_press", "end"),
        ),
        'A manual task and a plain <task>: human "done" steps.',
        ["manual task", "plain task"],
        [Run("done", ["print_posters"], [done("print_posters", "call_the_press"), done("call_the_press")])],
    )


@entry
def send_email() -> Entry:
    mail = node("sendTask", "tell_support", "Tell Support", 2, 0)
    mail.props = {
        "connector": "email",
        "to": "role:support_lead",
        "subject": "{product_name} is ready for support",
    }
    nodes = [
        start(),
        user("write_summary", "Write Summary", 1, 0),
        mail,
        user("confirm_sent", "Confirm Sent", 3, 0),
        end(4),
    ]
    return Entry(
        single(
            "send_email",
            "Send E-mail",
            nodes,
            chain("start", "write_summary", "tell_support", "confirm_sent", "end"),
        ),
        "A send task bound to the e-mail connector (to a role): completes at once, the mail goes out through the outbox.",
        ["send task", "e-mail connector"],
        [
            Run(
                "sent",
                ["write_summary"],
                [done("write_summary", "confirm_sent"), done("confirm_sent")],
                outbox=["connector_email"],
            )
        ],
    )


@entry
def service_webhook() -> Entry:
    hook = node("serviceTask", "notify_tracker", "Notify Tracker", 2, 0)
    hook.props = {
        "connector": "webhook",
        "url": "http://localhost:9/hooks/launch",
        "documents": "release_notes",
    }
    notes = user("write_release_notes", "Write Release Notes", 1, 0, document="release_notes")
    nodes = [start(), notes, hook, user("check_tracker", "Check Tracker", 3, 0), end(4)]
    return Entry(
        single(
            "service_webhook",
            "Service Webhook",
            nodes,
            chain("start", "write_release_notes", "notify_tracker", "check_tracker", "end"),
        ),
        "A service task bound to the signed-webhook connector, carrying one document.",
        ["service task", "webhook connector"],
        [
            Run(
                "posted",
                ["write_release_notes"],
                [done("write_release_notes", "check_tracker"), done("check_tracker")],
                outbox=["connector_webhook"],
            )
        ],
    )


@entry
def lane_less_task() -> Entry:
    nodes = [start(), user("tidy_up", "Tidy Up", 1, 0), end(2)]
    diagram = Diagram(
        "lane_less_task",
        [Pool("lane_less_task", "Lane-less Task", nodes, chain("start", "tidy_up", "end"), drawn=False)],
    )
    return Entry(
        diagram,
        "A user task in no lane, in a process with no pool: it goes to the launch's starter (a warning at deploy).",
        ["user task in no lane", "process without a pool"],
        [Run("starter", ["tidy_up"], [done("tidy_up")])],
        warnings=["tidy_up"],
    )


# --------------------------------------------------------------------------------------------- gateways


def _review_loop(process_id: str, name: str, default: bool) -> Diagram:
    nodes = [
        start(),
        user("draft_copy", "Draft Copy", 1, 0),
        user("review_copy", "Review Copy", 2, 1, "decision", document="copy_review"),
        gateway("exclusive", "copy_approved", "Copy Approved?", 3, 1),
        user("revise_copy", "Revise Copy", 3, 0),
        user("publish_copy", "Publish Copy", 4, 0),
        end(5),
    ]
    flows = [
        *chain("start", "draft_copy", "review_copy", "copy_approved"),
        Flow("copy_approved", "revise_copy", "Changes", "copy_review.decision == 'request_changes'"),
        Flow("revise_copy", "review_copy"),
        Flow(
            "copy_approved",
            "publish_copy",
            "Approved",
            "" if default else "copy_review.decision == 'approve'",
            default=default,
            points=[(750, 275), (875, 275), (875, 185)],
        ),
        Flow("publish_copy", "end"),
    ]
    return single(process_id, name, nodes, flows, TWO_LANES)


_LOOP_RUNS = [
    Run(
        "approved",
        ["draft_copy"],
        [done("draft_copy", "review_copy"), approve("review_copy", "publish_copy"), done("publish_copy")],
    ),
    Run(
        "one_round_of_changes",
        ["draft_copy"],
        [
            done("draft_copy", "review_copy"),
            changes("review_copy", "revise_copy"),
            done("revise_copy", "review_copy"),
            approve("review_copy", "publish_copy"),
            done("publish_copy"),
        ],
    ),
]


@entry
def exclusive_gateway() -> Entry:
    return Entry(
        _review_loop("exclusive_gateway", "Exclusive Gateway", default=True),
        "An exclusive gateway with a condition and a default flow, looping back for changes.",
        ["exclusive gateway", "default flow", "loop"],
        _LOOP_RUNS,
    )


@entry
def exclusive_without_default() -> Entry:
    return Entry(
        _review_loop("exclusive_without_default", "Exclusive Without Default", default=False),
        "An exclusive gateway whose every flow has a condition and none is the default (a warning at deploy).",
        ["exclusive gateway without default"],
        _LOOP_RUNS,
        warnings=["copy_approved"],
    )


@entry
def parallel_gateway() -> Entry:
    nodes = [
        start(0, 1),
        gateway("parallel", "fork_work", "", 1, 1),
        user("write_faq", "Write FAQ", 2, 0),
        user("train_agents", "Train Agents", 2, 1),
        user("update_status_page", "Update Status Page", 2, 2),
        gateway("parallel", "join_work", "", 3, 1),
        user("announce", "Announce", 4, 1),
        end(5, 1),
    ]
    flows = [
        Flow("start", "fork_work"),
        *[Flow("fork_work", t) for t in ("write_faq", "train_agents", "update_status_page")],
        *[Flow(t, "join_work") for t in ("write_faq", "train_agents", "update_status_page")],
        *chain("join_work", "announce", "end"),
    ]
    three = ["train_agents", "update_status_page", "write_faq"]
    return Entry(
        single("parallel_gateway", "Parallel Gateway", nodes, flows, PM_ROWS_3),
        "A parallel fork into three tasks and the join that waits for all of them.",
        ["parallel gateway"],
        [
            Run(
                "any_order",
                three,
                [
                    done("update_status_page", "train_agents", "write_faq"),
                    done("write_faq", "train_agents"),
                    done("train_agents", "announce"),
                    done("announce"),
                ],
            )
        ],
    )


def _extras_runs() -> list[Run]:
    """The runs of a choice of extras (FAQ, training, both, neither), whichever construct chooses."""
    return [
        Run(
            "faq_only",
            ["choose_extras"],
            [
                done("choose_extras", "write_faq", data={"faq": True, "training": False}),
                done("write_faq", "publish"),
                done("publish"),
            ],
        ),
        Run(
            "both",
            ["choose_extras"],
            [
                done("choose_extras", "run_training", "write_faq", data={"faq": True, "training": True}),
                done("run_training", "write_faq"),
                done("write_faq", "publish"),
                done("publish"),
            ],
        ),
        Run(
            "neither",
            ["choose_extras"],
            [done("choose_extras", "publish", data={"faq": False, "training": False}), done("publish")],
        ),
    ]


@entry
def implicit_split() -> Entry:
    nodes = [
        start(0, 1),
        user("plan_beta", "Plan Beta", 1, 1),
        user("write_faq", "Write FAQ", 2, 0),
        user("brief_support", "Brief Support", 2, 2),
        gateway("parallel", "both_done", "", 3, 1),
        user("publish", "Publish", 4, 1),
        end(5, 1),
    ]
    flows = [
        *chain("start", "plan_beta"),
        Flow("plan_beta", "write_faq"),
        Flow("plan_beta", "brief_support"),
        Flow("write_faq", "both_done"),
        Flow("brief_support", "both_done"),
        *chain("both_done", "publish", "end"),
    ]
    return Entry(
        single("implicit_split", "Implicit Split", nodes, flows, PM_ROWS_3),
        "A task with two outgoing flows and no gateway (an implicit split, as modelers often draw it): both "
        "paths run, a parallel join waits for them.",
        ["implicit split"],
        [
            Run(
                "both_paths",
                ["plan_beta"],
                [
                    done("plan_beta", "brief_support", "write_faq"),
                    done("write_faq", "brief_support"),
                    done("brief_support", "publish"),
                    done("publish"),
                ],
            )
        ],
    )


@entry
def conditional_flows_from_task() -> Entry:
    nodes = [
        start(0, 1),
        user("choose_extras", "Choose Extras", 1, 1, "extras", document="extras"),
        user("write_faq", "Write FAQ", 2, 0),
        user("run_training", "Run Training", 2, 2),
        gateway("inclusive", "extras_done", "", 3, 1),
        user("publish", "Publish", 4, 1),
        end(5, 1),
    ]
    flows = [
        *chain("start", "choose_extras"),
        Flow("choose_extras", "write_faq", "FAQ", "extras.faq == True"),
        Flow("choose_extras", "run_training", "Training", "extras.training == True"),
        Flow("choose_extras", "extras_done", "Neither", default=True),
        Flow("write_faq", "extras_done"),
        Flow("run_training", "extras_done"),
        *chain("extras_done", "publish", "end"),
    ]
    return Entry(
        single("conditional_flows_from_task", "Conditional Flows From Task", nodes, flows, PM_ROWS_3),
        "Conditional sequence flows straight out of a task, with the task's default flow: every flow whose "
        "condition holds is taken, the default when none does.",
        ["conditional sequence flow", "default flow"],
        _extras_runs(),
    )


@entry
def inclusive_gateway() -> Entry:
    nodes = [
        start(0, 1),
        user("choose_extras", "Choose Extras", 1, 1, "extras", document="extras"),
        gateway("inclusive", "which_extras", "Which Extras?", 2, 1),
        user("write_faq", "Write FAQ", 3, 0),
        user("run_training", "Run Training", 3, 2),
        gateway("inclusive", "extras_done", "", 4, 1),
        user("publish", "Publish", 5, 1),
        end(6, 1),
    ]
    flows = [
        *chain("start", "choose_extras", "which_extras"),
        Flow("which_extras", "write_faq", "FAQ", "extras.faq == True"),
        Flow("which_extras", "run_training", "Training", "extras.training == True"),
        Flow("which_extras", "extras_done", "Neither", default=True),
        Flow("write_faq", "extras_done"),
        Flow("run_training", "extras_done"),
        *chain("extras_done", "publish", "end"),
    ]
    return Entry(
        single("inclusive_gateway", "Inclusive Gateway", nodes, flows, PM_ROWS_3),
        "An inclusive gateway: every flow whose condition holds is taken (default: none), the join waits for those.",
        ["inclusive gateway"],
        _extras_runs(),
    )


@entry
def event_based_gateway() -> Entry:
    nodes = [
        start(),
        user("send_offer", "Send Offer", 1, 0),
        gateway("eventBased", "first_answer", "", 2, 0),
        node(
            "intermediateCatchEvent",
            "partner_accepted",
            "Partner Accepted",
            3,
            0,
            message_def("partner_accepted"),
        ),
        node("intermediateCatchEvent", "three_days_pass", "Three Days", 3, 1, timer("timeDuration", "'P3D'")),
        user("onboard_partner", "Onboard Partner", 4, 0),
        user("follow_up", "Follow Up", 4, 1),
        end(5),
        end(5, 1, id_="end_followed_up", name="Followed Up"),
    ]
    flows = [
        *chain("start", "send_offer", "first_answer"),
        Flow("first_answer", "partner_accepted"),
        Flow("first_answer", "three_days_pass"),
        *chain("partner_accepted", "onboard_partner", "end"),
        *chain("three_days_pass", "follow_up", "end_followed_up"),
    ]
    return Entry(
        single(
            "event_based_gateway",
            "Event-based Gateway",
            nodes,
            flows,
            PM_ROWS_2,
            [message("partner_accepted")],
        ),
        "An event-based gateway: a message or a timer, whichever comes first.",
        ["event-based gateway", "message catch", "timer duration"],
        [
            Run(
                "message_first",
                ["send_offer"],
                [done("send_offer"), send("partner_accepted", "onboard_partner"), done("onboard_partner")],
            ),
            Run(
                "timer_first",
                ["send_offer"],
                [done("send_offer"), wait("P3D", "follow_up"), done("follow_up")],
            ),
        ],
    )


# ------------------------------------------------------------------------------------------ sub-processes


@entry
def embedded_subprocess() -> Entry:
    inner = [
        start(1, 0, id_="readiness_start"),
        user("train_agents", "Train Agents", 2, 0),
        user("update_macros", "Update Macros", 3, 0),
        end(4, 0, id_="readiness_end", name="Ready"),
    ]
    readiness = sub(
        "support_readiness",
        "Support Readiness",
        1,
        0,
        (4, 1),
        inner,
        chain("readiness_start", "train_agents", "update_macros", "readiness_end"),
    )
    nodes = [start(), readiness, user("publish", "Publish", 5, 0), end(6)]
    return Entry(
        single(
            "embedded_subprocess",
            "Embedded Sub-process",
            nodes,
            chain("start", "support_readiness", "publish", "end"),
        ),
        "An embedded sub-process with two tasks, then the parent carries on.",
        ["embedded sub-process"],
        [
            Run(
                "through",
                ["train_agents"],
                [done("train_agents", "update_macros"), done("update_macros", "publish"), done("publish")],
            )
        ],
    )


def _event_subprocess(start_event: Node, task: Node) -> Node:
    inner = [start_event, task, end(3, 1, id_=f"{task.id}_end", name="Handled")]
    return sub(
        f"on_{start_event.id}",
        f"On {start_event.name}",
        1,
        1,
        (3, 1),
        inner,
        chain(start_event.id, task.id, f"{task.id}_end"),
        triggeredByEvent="true",
    )


@entry
def event_subprocess_timer() -> Entry:
    first_day = start(1, 1, timer("timeDuration", "'P1D'"), id_="a_day_in", name="A Day In")
    first_day.attrs["isInterrupting"] = "false"
    nodes = [
        start(),
        user("run_beta", "Run Beta", 1, 0),
        end(2),
        _event_subprocess(first_day, user("send_beta_digest", "Send Beta Digest", 2, 1)),
    ]
    return Entry(
        single(
            "event_subprocess_timer",
            "Event Sub-process Timer",
            nodes,
            chain("start", "run_beta", "end"),
            PM_ROWS_2,
        ),
        "A non-interrupting event sub-process with a timer start: a day into the beta, a digest is due.",
        ["event sub-process", "timer start (non-interrupting)"],
        [
            Run(
                "digest",
                ["run_beta"],
                [
                    wait("P1D", "run_beta", "send_beta_digest"),
                    done("send_beta_digest", "run_beta"),
                    done("run_beta"),
                ],
            ),
            Run("beta_ends_first", ["run_beta"], [done("run_beta")]),
        ],
    )


@entry
def event_subprocess_timer_interrupting() -> Entry:
    overdue = start(1, 1, timer("timeDuration", "'P14D'"), id_="beta_overdue", name="Beta Overdue")
    nodes = [
        start(),
        user("run_beta", "Run Beta", 1, 0),
        end(2),
        _event_subprocess(overdue, user("escalate_beta", "Escalate Beta", 2, 1)),
    ]
    return Entry(
        single(
            "event_subprocess_timer_interrupting",
            "Event Sub-process Timer Interrupting",
            nodes,
            chain("start", "run_beta", "end"),
            PM_ROWS_2,
        ),
        "An interrupting event sub-process with a timer start: a beta still running after two weeks is cut "
        "short and escalated.",
        ["event sub-process", "timer start (interrupting)"],
        [
            Run("overdue", ["run_beta"], [wait("P14D", "escalate_beta"), done("escalate_beta")]),
            Run("beta_ends_in_time", ["run_beta"], [done("run_beta")]),
        ],
    )


@entry
def event_subprocess_message() -> Entry:
    called_off = start(1, 1, message_def("launch_called_off"), id_="called_off", name="Called Off")
    nodes = [
        start(),
        user("run_beta", "Run Beta", 1, 0),
        end(2),
        _event_subprocess(called_off, user("tell_the_team", "Tell The Team", 2, 1)),
    ]
    return Entry(
        single(
            "event_subprocess_message",
            "Event Sub-process Message",
            nodes,
            chain("start", "run_beta", "end"),
            PM_ROWS_2,
            [message("launch_called_off")],
        ),
        "An interrupting event sub-process with a message start: the message cancels the beta.",
        ["event sub-process", "message start (interrupting)"],
        [
            Run(
                "called_off",
                ["run_beta"],
                [send("launch_called_off", "tell_the_team"), done("tell_the_team")],
            ),
            Run("not_called_off", ["run_beta"], [done("run_beta")]),
        ],
    )


@entry
def event_subprocess_error() -> Entry:
    inner = [
        start(1, 0, id_="check_start"),
        user("check_compliance", "Check Compliance", 2, 0, "decision", document="compliance"),
        gateway("exclusive", "compliant", "Compliant?", 3, 0),
        end(4, 0, id_="check_end", name="Compliant"),
        end(4, 1, error_def("compliance_failed"), id_="not_compliant", name="Not Compliant"),
    ]
    inner_flows = [
        *chain("check_start", "check_compliance", "compliant"),
        Flow("compliant", "check_end", "Yes", default=True),
        Flow("compliant", "not_compliant", "No", "compliance.decision == 'request_changes'"),
    ]
    check = sub("compliance_check", "Compliance Check", 1, 0, (4, 2), inner, inner_flows)
    failed = start(1, 2, error_def("compliance_failed"), id_="compliance_failed", name="Compliance Failed")
    handler = sub(
        "on_compliance_failed",
        "On Compliance Failed",
        1,
        2,
        (3, 1),
        [failed, user("handle_failure", "Handle Failure", 2, 2), end(3, 2, id_="handled", name="Handled")],
        chain("compliance_failed", "handle_failure", "handled"),
        triggeredByEvent="true",
    )
    nodes = [start(), check, user("publish", "Publish", 5, 0), end(6), handler]
    return Entry(
        single(
            "event_subprocess_error",
            "Event Sub-process Error",
            nodes,
            chain("start", "compliance_check", "publish", "end"),
            PM_ROWS_3,
            [error("compliance_failed")],
        ),
        "An error end event inside a sub-process, caught by the process's event sub-process with an error start.",
        ["event sub-process", "error start", "error end event", "embedded sub-process"],
        [
            Run("compliant", ["check_compliance"], [approve("check_compliance", "publish"), done("publish")]),
            Run(
                "not_compliant",
                ["check_compliance"],
                [changes("check_compliance", "handle_failure"), done("handle_failure")],
            ),
        ],
    )


@entry
def event_subprocess_nested_message() -> Entry:
    aborted = start(1, 1, message_def("beta_aborted"), id_="beta_aborted", name="Beta Aborted")
    inner = [
        start(0, 0, id_="beta_start"),
        user("run_beta", "Run Beta", 1, 0),
        end(2, 0, id_="beta_end", name="Beta Done"),
        _event_subprocess(aborted, user("wrap_up_beta", "Wrap Up Beta", 2, 1)),
    ]
    beta = sub("beta_phase", "Beta Phase", 1, 0, (4, 2), inner, chain("beta_start", "run_beta", "beta_end"))
    nodes = [start(), beta, user("publish", "Publish", 5, 0), end(6)]
    return Entry(
        single(
            "event_subprocess_nested_message",
            "Event Sub-process Nested Message",
            nodes,
            chain("start", "beta_phase", "publish", "end"),
            PM_ROWS_3,
            [message("beta_aborted")],
        ),
        "An interrupting message-start event sub-process inside an embedded sub-process: the message cuts "
        "the beta short, the wrap-up ends the phase and the launch goes on.",
        [
            "event sub-process",
            "message start (interrupting)",
            "embedded sub-process",
            "nested event sub-process",
        ],
        [
            Run(
                "aborted",
                ["run_beta"],
                [send("beta_aborted", "wrap_up_beta"), done("wrap_up_beta", "publish"), done("publish")],
            ),
            Run("not_aborted", ["run_beta"], [done("run_beta", "publish"), done("publish")]),
        ],
    )


@entry
def event_subprocess_nested_timer() -> Entry:
    overdue = start(1, 1, timer("timeDuration", "'P7D'"), id_="faq_overdue", name="FAQ Overdue")
    inner = [
        start(0, 0, id_="faq_start"),
        user("write_faq", "Write FAQ", 1, 0),
        end(2, 0, id_="faq_end", name="FAQ Written"),
        _event_subprocess(overdue, user("use_last_faq", "Use Last FAQ", 2, 1)),
    ]
    faq = sub("faq_phase", "FAQ Phase", 1, 0, (4, 2), inner, chain("faq_start", "write_faq", "faq_end"))
    nodes = [start(), faq, user("publish", "Publish", 5, 0), end(6)]
    return Entry(
        single(
            "event_subprocess_nested_timer",
            "Event Sub-process Nested Timer",
            nodes,
            chain("start", "faq_phase", "publish", "end"),
            PM_ROWS_3,
        ),
        "An interrupting timer-start event sub-process inside an embedded sub-process: an FAQ not written "
        "in a week is dropped for the last one, and the launch goes on.",
        [
            "event sub-process",
            "timer start (interrupting)",
            "embedded sub-process",
            "nested event sub-process",
        ],
        [
            Run(
                "overdue",
                ["write_faq"],
                [wait("P7D", "use_last_faq"), done("use_last_faq", "publish"), done("publish")],
            ),
            Run("in_time", ["write_faq"], [done("write_faq", "publish"), done("publish")]),
        ],
    )


@entry
def event_subprocess_nested_error() -> Entry:
    inner_check = [
        start(0, 0, id_="check_start"),
        user("check_compliance", "Check Compliance", 1, 0, "decision", document="compliance"),
        gateway("exclusive", "compliant", "Compliant?", 2, 0),
        end(3, 0, id_="check_end", name="Compliant"),
        end(3, 1, error_def("compliance_failed"), id_="not_compliant", name="Not Compliant"),
    ]
    check_flows = [
        *chain("check_start", "check_compliance", "compliant"),
        Flow("compliant", "check_end", "Yes", default=True),
        Flow("compliant", "not_compliant", "No", "compliance.decision == 'request_changes'"),
    ]
    failed = start(1, 2, error_def("compliance_failed"), id_="compliance_failed", name="Compliance Failed")
    handler = sub(
        "on_compliance_failed",
        "On Compliance Failed",
        1,
        2,
        (3, 1),
        [failed, user("rework_plan", "Rework Plan", 2, 2), end(3, 2, id_="reworked", name="Reworked")],
        chain("compliance_failed", "rework_plan", "reworked"),
        triggeredByEvent="true",
    )
    phase_inner = [
        start(0, 0, id_="review_start"),
        sub("compliance_check", "Compliance Check", 1, 0, (4, 2), inner_check, check_flows),
        end(5, 0, id_="review_end", name="Reviewed"),
        handler,
    ]
    phase = sub(
        "review_phase",
        "Review Phase",
        1,
        0,
        (6, 4),
        phase_inner,
        chain("review_start", "compliance_check", "review_end"),
    )
    nodes = [start(), phase, user("publish", "Publish", 7, 0), end(8)]
    return Entry(
        single(
            "event_subprocess_nested_error",
            "Event Sub-process Nested Error",
            nodes,
            chain("start", "review_phase", "publish", "end"),
            PM_ROWS_3,
            [error("compliance_failed")],
        ),
        "An error thrown two levels down is caught by the error-start event sub-process of the sub-process "
        "around it: the rework ends that phase and the launch goes on.",
        [
            "event sub-process",
            "error start",
            "error end event",
            "embedded sub-process",
            "nested event sub-process",
        ],
        [
            Run("compliant", ["check_compliance"], [approve("check_compliance", "publish"), done("publish")]),
            Run(
                "not_compliant",
                ["check_compliance"],
                [changes("check_compliance", "rework_plan"), done("rework_plan", "publish"), done("publish")],
            ),
        ],
    )


@entry
def call_activity_same_file() -> Entry:
    call = node("callActivity", "prepare_support", "Prepare Support", 2, 0, calledElement="support_checklist")
    call.props = {"in": "plan", "out": "staffing"}
    caller = Pool(
        "release_train",
        "Release Train",
        [
            start(),
            user("plan_release", "Plan Release", 1, 0, document="plan"),
            call,
            user("announce", "Announce", 3, 0),
            end(4),
        ],
        chain("start", "plan_release", "prepare_support", "announce", "end"),
        lanes=[PM_LANE],
    )
    called = Pool(
        "support_checklist",
        "Support Checklist",
        [
            start(0, 1, id_="checklist_start"),
            user("check_macros", "Check Macros", 1, 1),
            user("check_staffing", "Check Staffing", 2, 1, document="staffing"),
            end(3, 1, id_="checklist_end", name="Checked"),
        ],
        chain("checklist_start", "check_macros", "check_staffing", "checklist_end"),
        lanes=[Lane("lane_checklist_support", "Support Lead", "support_lead", (1, 2))],
    )
    return Entry(
        Diagram("call_activity_same_file", [caller, called]),
        "A call activity to another process of the same file (two pools), passing `plan` in and `staffing` out.",
        ["call activity (same file)", "several processes in one file", "in/out data mapping"],
        [
            Run(
                "called",
                ["plan_release"],
                [
                    done("plan_release", "check_macros"),
                    done("check_macros", "check_staffing"),
                    done("check_staffing", "announce"),
                    done("announce"),
                ],
            )
        ],
        process="release_train",
    )


@entry
def support_readiness() -> Entry:
    nodes = [
        start(),
        user("train_agents", "Train Agents", 1, 0),
        user("write_macros", "Write Macros", 2, 0, document="macros"),
        end(3),
    ]
    return Entry(
        single(
            "support_readiness",
            "Support Readiness",
            nodes,
            chain("start", "train_agents", "write_macros", "end"),
            SUPPORT_LANE,
        ),
        "The reusable support readiness process: called by call_activity_other_diagram and real_launch_gated; runs on its own too.",
        ["called process"],
        [Run("alone", ["train_agents"], [done("train_agents", "write_macros"), done("write_macros")])],
    )


@entry
def call_activity_other_diagram() -> Entry:
    call = node(
        "callActivity", "get_support_ready", "Get Support Ready", 2, 0, calledElement="support_readiness"
    )
    call.props = {"out": "macros"}
    nodes = [
        start(),
        user("draft_plan", "Draft Plan", 1, 0),
        call,
        user("go_ahead", "Go Ahead", 3, 0),
        end(4),
    ]
    return Entry(
        single(
            "call_activity_other_diagram",
            "Call Activity Other Diagram",
            nodes,
            chain("start", "draft_plan", "get_support_ready", "go_ahead", "end"),
        ),
        "A call activity to a process deployed from another diagram (support_readiness.bpmn).",
        ["call activity (deployed process)"],
        [
            Run(
                "called",
                ["draft_plan"],
                [
                    done("draft_plan", "train_agents"),
                    done("train_agents", "write_macros"),
                    done("write_macros", "go_ahead"),
                    done("go_ahead"),
                ],
            )
        ],
        deployed_first=["support_readiness"],
    )


# ---------------------------------------------------------------------------------------- multi-instance


def _mi(sequential: bool = False, cardinality: int | None = None, condition: str = "") -> str:
    attrs = ' isSequential="true"' if sequential else ""
    inner = ""
    if cardinality is not None:
        inner += f'  <bpmn:loopCardinality xsi:type="bpmn:tFormalExpression">{cardinality}</bpmn:loopCardinality>\n'
    if condition:
        inner += f'  <bpmn:completionCondition xsi:type="bpmn:tFormalExpression">{condition.replace(">", "&gt;")}</bpmn:completionCondition>\n'
    if not inner:
        return f"<bpmn:multiInstanceLoopCharacteristics{attrs} />"
    return f"<bpmn:multiInstanceLoopCharacteristics{attrs}>\n{inner}</bpmn:multiInstanceLoopCharacteristics>"


@entry
def mi_parallel_cardinality() -> Entry:
    sign = user("sign_off", "Sign Off", 1, 0)
    sign.body = _mi(cardinality=3)
    nodes = [start(), sign, end(2)]
    return Entry(
        single(
            "mi_parallel_cardinality",
            "Multi-instance Cardinality",
            nodes,
            chain("start", "sign_off", "end"),
            SUPPORT_LANE,
        ),
        "A parallel multi-instance user task with a cardinality of 3: three sign-offs open at once.",
        ["multi-instance parallel", "cardinality"],
        [
            Run(
                "three",
                ["sign_off"] * 3,
                [done("sign_off", "sign_off", "sign_off"), done("sign_off", "sign_off"), done("sign_off")],
            )
        ],
    )


def _regions_then(
    process_id: str, name: str, about: str, covers: list[str], task: Node, runs: list[Run]
) -> Entry:
    nodes = [start(), user("plan_regions", "Plan Regions", 1, 0, "regions", document="plan"), task, end(3)]
    return Entry(
        single(process_id, name, nodes, chain("start", "plan_regions", task.id, "end"), TWO_LANES),
        about,
        covers,
        runs,
    )


REGIONS_2 = {"regions": ["EMEA", "APAC"]}
REGIONS_3 = {"regions": ["EMEA", "APAC", "AMER"]}


@entry
def mi_sequential_collection() -> Entry:
    review = user("regional_review", "Regional Review", 2, 1, collection="plan.regions")
    review.body = _mi(sequential=True)
    return _regions_then(
        "mi_sequential_collection",
        "Multi-instance Sequential Collection",
        "A sequential multi-instance: one review per region listed in the plan, one after the other.",
        ["multi-instance sequential", "collection from launch data"],
        review,
        [
            Run(
                "two_regions",
                ["plan_regions"],
                [
                    done("plan_regions", "regional_review", data=REGIONS_2),
                    done("regional_review", "regional_review"),
                    done("regional_review"),
                ],
            )
        ],
    )


@entry
def mi_manual_and_plain_tasks() -> Entry:
    brief = Node("brief_region", "manualTask", "Brief Region", 2, 1, props={"collection": "plan.regions"})
    brief.body = _mi()
    check = Node("check_in", "task", "Check In", 3, 1)
    check.body = _mi(cardinality=2, sequential=True)
    nodes = [
        start(),
        user("plan_regions", "Plan Regions", 1, 0, "regions", document="plan"),
        brief,
        check,
        end(4),
    ]
    return Entry(
        single(
            "mi_manual_and_plain_tasks",
            "Multi-instance Manual And Plain Tasks",
            nodes,
            chain("start", "plan_regions", "brief_region", "check_in", "end"),
            TWO_LANES,
        ),
        "Multi-instance human steps that are not user tasks: a manual task once per region of the plan "
        "(parallel), then a plain task twice (sequential).",
        ["multi-instance manual task", "multi-instance plain task"],
        [
            Run(
                "two_regions",
                ["plan_regions"],
                [
                    done("plan_regions", "brief_region", "brief_region", data=REGIONS_2),
                    done("brief_region", "brief_region"),
                    done("brief_region", "check_in"),
                    done("check_in", "check_in"),
                    done("check_in"),
                ],
            )
        ],
    )


@entry
def mi_completion_condition() -> Entry:
    review = user("regional_signoff", "Regional Sign-off", 2, 1, "decision", collection="plan.regions")
    review.body = _mi(condition="completed >= 2")
    return _regions_then(
        "mi_completion_condition",
        "Multi-instance Completion Condition",
        "A parallel multi-instance over three regions that is done after two of them (completion condition).",
        ["multi-instance parallel", "collection from launch data", "completion condition"],
        review,
        [
            Run(
                "two_of_three",
                ["plan_regions"],
                [
                    done(
                        "plan_regions",
                        "regional_signoff",
                        "regional_signoff",
                        "regional_signoff",
                        data=REGIONS_3,
                    ),
                    approve("regional_signoff", "regional_signoff", "regional_signoff"),
                    approve("regional_signoff"),
                ],
            )
        ],
    )


@entry
def mi_subprocess() -> Entry:
    inner = [
        start(2, 1, id_="region_start"),
        user("prepare_macros", "Prepare Macros", 3, 1),
        user("brief_agents", "Brief Agents", 4, 1),
        end(5, 1, id_="region_end", name="Region Ready"),
    ]
    per_region = sub(
        "ready_each_region",
        "Ready Each Region",
        2,
        1,
        (4, 1),
        inner,
        chain("region_start", "prepare_macros", "brief_agents", "region_end"),
    )
    per_region.props = {"collection": "plan.regions"}
    per_region.body = _mi()
    nodes = [
        start(),
        user("plan_regions", "Plan Regions", 1, 0, "regions", document="plan"),
        per_region,
        end(6),
    ]
    return Entry(
        single(
            "mi_subprocess",
            "Multi-instance Sub-process",
            nodes,
            chain("start", "plan_regions", "ready_each_region", "end"),
            TWO_LANES,
        ),
        "A parallel multi-instance embedded sub-process: each region runs its own two steps.",
        ["multi-instance sub-process", "collection from launch data", "embedded sub-process"],
        [
            Run(
                "two_regions",
                ["plan_regions"],
                [
                    done("plan_regions", "prepare_macros", "prepare_macros", data=REGIONS_2),
                    done("prepare_macros", "brief_agents", "prepare_macros"),
                    done("prepare_macros", "brief_agents", "brief_agents"),
                    done("brief_agents", "brief_agents"),
                    done("brief_agents"),
                ],
            )
        ],
    )


# ----------------------------------------------------------------------------------------------- timers


def _wait_between(
    process_id: str, name: str, wait_event: Node, about: str, covers: list[str], pause: str
) -> Entry:
    nodes = [start(), user("submit", "Submit", 1, 0), wait_event, user("review", "Review", 3, 0), end(4)]
    return Entry(
        single(process_id, name, nodes, chain("start", "submit", wait_event.id, "review", "end")),
        about,
        covers,
        [Run("waits", ["submit"], [done("submit"), wait(pause, "review"), done("review")])],
    )


@entry
def timer_duration() -> Entry:
    event = node("intermediateCatchEvent", "cooling_off", "Two Hours", 2, 0, timer("timeDuration", "'PT2H'"))
    return _wait_between(
        "timer_duration",
        "Timer Duration",
        event,
        "An intermediate timer of two hours (quoted duration).",
        ["timer duration", "intermediate catch"],
        "PT2H",
    )


@entry
def timer_date() -> Entry:
    event = node(
        "intermediateCatchEvent",
        "embargo_lifts",
        "Embargo Lifts",
        2,
        0,
        timer("timeDate", "'2030-03-05T09:00:00+00:00'"),
    )
    return _wait_between(
        "timer_date",
        "Timer Date",
        event,
        "An intermediate timer on a date (the clock starts 2030-03-04 09:00 UTC).",
        ["timer date"],
        "P1D",
    )


@entry
def timer_bare_values() -> Entry:
    event = node(
        "intermediateCatchEvent", "five_minutes", "Five Minutes", 2, 0, timer("timeDuration", "PT5M")
    )
    return _wait_between(
        "timer_bare_values",
        "Timer Bare Values",
        event,
        "A timer written as modelers write it: a bare ISO 8601 duration (PT5M), not quoted.",
        ["timer duration (bare ISO 8601)"],
        "PT5M",
    )


@entry
def timer_cycle() -> Entry:
    nodes = [
        start(),
        user("run_beta", "Run Beta", 1, 0),
        boundary("every_day", "Every Day", "run_beta", timer("timeCycle", "'R2/P1D'"), interrupting=False),
        user("check_in", "Check In", 2, 1),
        end(3, 1, id_="checked_in", name="Checked In"),
        end(2),
    ]
    flows = [*chain("start", "run_beta", "end"), *chain("every_day", "check_in", "checked_in")]
    return Entry(
        single("timer_cycle", "Timer Cycle", nodes, flows, PM_ROWS_2),
        "A non-interrupting boundary timer cycle (R2/P1D): a check-in each day of the beta, twice at most.",
        ["timer cycle", "boundary timer (non-interrupting)"],
        [
            Run(
                "two_check_ins",
                ["run_beta"],
                [
                    wait("P1D", "check_in", "run_beta"),
                    done("check_in", "run_beta"),
                    wait("P1D", "check_in", "run_beta"),
                    done("check_in", "run_beta"),
                    wait("P1D", "run_beta"),
                    done("run_beta"),
                ],
            )
        ],
    )


# ---------------------------------------------------------------------------------- messages and signals


@entry
def message_catch() -> Entry:
    event = node(
        "intermediateCatchEvent", "feedback_arrives", "Feedback Arrives", 2, 0, message_def("beta_feedback")
    )
    nodes = [
        start(),
        user("open_beta", "Open Beta", 1, 0),
        event,
        user("read_feedback", "Read Feedback", 3, 0),
        end(4),
    ]
    return Entry(
        single(
            "message_catch",
            "Message Catch",
            nodes,
            chain("start", "open_beta", "feedback_arrives", "read_feedback", "end"),
            globals_=[message("beta_feedback")],
        ),
        "An intermediate message catch: the launch waits until the messages API delivers beta_feedback.",
        ["message intermediate catch", "messages API"],
        [
            Run(
                "feedback",
                ["open_beta"],
                [
                    done("open_beta"),
                    send("beta_feedback", "read_feedback", payload={"score": 4}),
                    done("read_feedback"),
                ],
            )
        ],
    )


@entry
def message_throw_to_partner() -> Entry:
    throw = node(
        "intermediateThrowEvent", "announce_launch", "Announce Launch", 2, 0, message_def("launch_announced")
    )
    nodes = [
        start(),
        user("write_notice", "Write Notice", 1, 0, document="launch_announced"),
        throw,
        user("archive_notice", "Archive Notice", 3, 0),
        end(4),
    ]
    ours = Pool(
        "message_throw_to_partner",
        "Message Throw",
        nodes,
        chain("start", "write_notice", "announce_launch", "archive_notice", "end"),
        lanes=[PM_LANE],
    )
    partner = Pool("partner_process", "Partner", [], [], rows=(1.2, 2.2), executable=False)
    diagram = Diagram(
        "message_throw_to_partner",
        [ours, partner],
        globals=[message("launch_announced")],
        message_flows=[
            Flow(
                "announce_launch",
                "partner_process",
                id="message_flow_announcement",
                kind="messageFlow",
                points=[(575, 163), (575, 236)],
            )
        ],
    )
    return Entry(
        diagram,
        "An intermediate message throw; a collaboration with a second, non-executable pool (only the executable one runs).",
        ["message intermediate throw", "collaboration with several pools", "message flow"],
        [
            Run(
                "thrown",
                ["write_notice"],
                [done("write_notice", "archive_notice"), done("archive_notice")],
                outbox=["bpmn_event"],
            )
        ],
        process="message_throw_to_partner",
    )


@entry
def signal_catch_throw() -> Entry:
    nodes = [
        start(0, 1),
        gateway("parallel", "split", "", 1, 1),
        user("prepare_rollout", "Prepare Rollout", 2, 0),
        node("intermediateThrowEvent", "rollout_ready", "Rollout Ready", 3, 0, signal_def("rollout_ready")),
        node("intermediateCatchEvent", "wait_for_ready", "Wait For Ready", 2, 2, signal_def("rollout_ready")),
        user("start_rollout", "Start Rollout", 3, 2),
        gateway("parallel", "merge", "", 4, 1),
        end(5, 1),
    ]
    flows = [
        *chain("start", "split"),
        *chain("split", "prepare_rollout", "rollout_ready", "merge"),
        *chain("split", "wait_for_ready", "start_rollout", "merge"),
        Flow("merge", "end"),
    ]
    return Entry(
        single(
            "signal_catch_throw", "Signal Catch And Throw", nodes, flows, PM_ROWS_3, [signal("rollout_ready")]
        ),
        "A signal thrown in one branch and caught in the other branch of the same launch.",
        ["signal intermediate throw", "signal intermediate catch"],
        [
            Run(
                "signalled",
                ["prepare_rollout"],
                [done("prepare_rollout", "start_rollout"), done("start_rollout")],
                outbox=["bpmn_event"],
            )
        ],
    )


@entry
def receive_task() -> Entry:
    receive = node(
        "receiveTask", "wait_for_signature", "Wait For Signature", 2, 0, messageRef="message_contract_signed"
    )
    nodes = [
        start(),
        user("send_contract", "Send Contract", 1, 0),
        receive,
        user("countersign", "Countersign", 3, 0),
        end(4),
    ]
    return Entry(
        single(
            "receive_task",
            "Receive Task",
            nodes,
            chain("start", "send_contract", "wait_for_signature", "countersign", "end"),
            globals_=[message("contract_signed")],
        ),
        "A receive task: waits for the contract_signed message.",
        ["receive task"],
        [
            Run(
                "signed",
                ["send_contract"],
                [done("send_contract"), send("contract_signed", "countersign"), done("countersign")],
            )
        ],
    )


# ------------------------------------------------------------------------------------------ boundaries


@entry
def boundary_timer_interrupting() -> Entry:
    nodes = [
        start(),
        user("review_copy", "Review Copy", 1, 0),
        boundary("review_late", "Two Days", "review_copy", timer("timeDuration", "'P2D'")),
        user("publish", "Publish", 2, 0),
        user("escalate_review", "Escalate Review", 2, 1),
        end(3),
        end(3, 1, id_="escalated", name="Escalated"),
    ]
    flows = [
        *chain("start", "review_copy", "publish", "end"),
        *chain("review_late", "escalate_review", "escalated"),
    ]
    return Entry(
        single("boundary_timer_interrupting", "Boundary Timer Interrupting", nodes, flows, PM_ROWS_2),
        "An interrupting boundary timer: a review not done in two days is cancelled and escalated.",
        ["boundary timer (interrupting)"],
        [
            Run("in_time", ["review_copy"], [done("review_copy", "publish"), done("publish")]),
            Run("too_late", ["review_copy"], [wait("P2D", "escalate_review"), done("escalate_review")]),
        ],
    )


@entry
def boundary_timer_non_interrupting() -> Entry:
    nodes = [
        start(),
        user("run_beta", "Run Beta", 1, 0),
        boundary("beta_slow", "One Day", "run_beta", timer("timeDuration", "'P1D'"), interrupting=False),
        user("remind_users", "Remind Users", 2, 1),
        end(2),
        end(3, 1, id_="reminded", name="Reminded"),
    ]
    flows = [*chain("start", "run_beta", "end"), *chain("beta_slow", "remind_users", "reminded")]
    return Entry(
        single("boundary_timer_non_interrupting", "Boundary Timer Non-interrupting", nodes, flows, PM_ROWS_2),
        "A non-interrupting boundary timer: after a day a reminder task opens beside the beta.",
        ["boundary timer (non-interrupting)"],
        [
            Run(
                "reminded",
                ["run_beta"],
                [wait("P1D", "remind_users", "run_beta"), done("remind_users", "run_beta"), done("run_beta")],
            ),
            Run(
                "beta_done_before_the_reminder",
                ["run_beta"],
                [
                    wait("P1D", "remind_users", "run_beta"),
                    done("run_beta", "remind_users"),
                    done("remind_users"),
                ],
            ),
        ],
    )


@entry
def boundary_message() -> Entry:
    nodes = [
        start(),
        user("run_beta", "Run Beta", 1, 0),
        boundary("beta_aborted", "Beta Aborted", "run_beta", message_def("beta_aborted"), offset=62),
        boundary(
            "feedback_in",
            "Feedback In",
            "run_beta",
            message_def("beta_feedback"),
            offset=10,
            interrupting=False,
        ),
        user("summarize", "Summarize", 2, 0),
        user("close_beta_early", "Close Beta Early", 2, 1),
        user("triage_feedback", "Triage Feedback", 2, 2),
        end(3),
        end(3, 1, id_="closed_early", name="Closed Early"),
        end(3, 2, id_="triaged", name="Triaged"),
    ]
    flows = [
        *chain("start", "run_beta", "summarize", "end"),
        *chain("beta_aborted", "close_beta_early", "closed_early"),
        *chain("feedback_in", "triage_feedback", "triaged"),
    ]
    return Entry(
        single(
            "boundary_message",
            "Boundary Message",
            nodes,
            flows,
            PM_ROWS_3,
            [message("beta_aborted"), message("beta_feedback")],
        ),
        "Message boundary events on a task: beta_feedback (non-interrupting) opens a triage, beta_aborted (interrupting) ends the beta.",
        ["boundary message (interrupting)", "boundary message (non-interrupting)"],
        [
            Run(
                "feedback_then_done",
                ["run_beta"],
                [
                    send("beta_feedback", "run_beta", "triage_feedback"),
                    done("triage_feedback", "run_beta"),
                    done("run_beta", "summarize"),
                    done("summarize"),
                ],
            ),
            Run(
                "aborted", ["run_beta"], [send("beta_aborted", "close_beta_early"), done("close_beta_early")]
            ),
        ],
    )


@entry
def boundary_signal() -> Entry:
    inner = [
        start(2, 0, id_="rollout_start"),
        user("roll_out_wave", "Roll Out Wave", 3, 0),
        end(4, 0, id_="rollout_end", name="Rolled Out"),
    ]
    rollout = sub(
        "rollout", "Rollout", 2, 0, (3, 1), inner, chain("rollout_start", "roll_out_wave", "rollout_end")
    )
    nodes = [
        start(0, 1),
        gateway("parallel", "split", "", 1, 1),
        rollout,
        boundary("rollout_frozen", "Rollout Frozen", "rollout", signal_def("rollout_frozen"), offset=100),
        user("freeze_rollout", "Freeze Rollout", 4, 1),
        end(5, 0, id_="end", name="Done"),
        end(5, 1, id_="frozen", name="Frozen"),
        user("security_review", "Security Review", 2, 2, "decision", document="security"),
        gateway("exclusive", "secure", "Secure?", 3, 2),
        end(4, 2, id_="secure_end", name="Secure"),
        end(4, 3, signal_def("rollout_frozen"), id_="freeze_signal", name="Freeze"),
    ]
    flows = [
        *chain("start", "split"),
        Flow("split", "rollout"),
        Flow("split", "security_review"),
        Flow("rollout", "end"),
        *chain("rollout_frozen", "freeze_rollout", "frozen"),
        Flow("security_review", "secure"),
        Flow("secure", "secure_end", "Yes", default=True),
        Flow("secure", "freeze_signal", "No", "security.decision == 'request_changes'"),
    ]
    return Entry(
        single("boundary_signal", "Boundary Signal", nodes, flows, PM_ROWS_4, [signal("rollout_frozen")]),
        "An interrupting signal boundary on a sub-process; the signal is a signal end event of the other branch.",
        ["boundary signal (interrupting)", "signal end event", "embedded sub-process"],
        [
            Run(
                "secure",
                ["roll_out_wave", "security_review"],
                [approve("security_review", "roll_out_wave"), done("roll_out_wave")],
            ),
            Run(
                "frozen",
                ["roll_out_wave", "security_review"],
                [changes("security_review", "freeze_rollout"), done("freeze_rollout")],
                outbox=["bpmn_event"],
            ),
        ],
    )


def _failing_sub(sub_id: str, name: str, check: str, bad_end: Node) -> Node:
    inner = [
        start(1, 0, id_=f"{sub_id}_start"),
        user(check, check.replace("_", " ").title(), 2, 0, "decision", document=check),
        gateway("exclusive", f"{check}_ok", "OK?", 3, 0),
        end(4, 0, id_=f"{sub_id}_end", name="OK"),
        bad_end,
    ]
    flows = [
        *chain(f"{sub_id}_start", check, f"{check}_ok"),
        Flow(f"{check}_ok", f"{sub_id}_end", "Yes", default=True),
        Flow(f"{check}_ok", bad_end.id, "No", f"{check}.decision == 'request_changes'"),
    ]
    return sub(sub_id, name, 1, 0, (4, 2), inner, flows)


def _caught_by_boundary(
    process_id: str,
    name: str,
    bad_end: Node,
    catch_body: str,
    handler: str,
    globals_: list[str],
    about: str,
    covers: list[str],
) -> Entry:
    nodes = [
        start(),
        _failing_sub("build", "Build", "run_checks", bad_end),
        boundary("build_problem", "Build Problem", "build", catch_body, offset=80),
        user(handler, handler.replace("_", " ").title(), 3, 2),
        user("publish", "Publish", 5, 0),
        end(6),
        end(4, 2, id_="handled", name="Handled"),
    ]
    flows = [*chain("start", "build", "publish", "end"), *chain("build_problem", handler, "handled")]
    return Entry(
        single(process_id, name, nodes, flows, PM_ROWS_3, globals_),
        about,
        covers,
        [
            Run("passes", ["run_checks"], [approve("run_checks", "publish"), done("publish")]),
            Run("fails", ["run_checks"], [changes("run_checks", handler), done(handler)]),
        ],
    )


@entry
def boundary_error() -> Entry:
    return _caught_by_boundary(
        "boundary_error",
        "Boundary Error",
        end(4, 1, error_def("build_failed"), id_="build_failed", name="Build Failed"),
        error_def("build_failed"),
        "fix_build",
        [error("build_failed")],
        "An error end event inside a sub-process, caught by an error boundary event on it.",
        ["error end event", "boundary error"],
    )


@entry
def boundary_escalation_interrupting() -> Entry:
    return _caught_by_boundary(
        "boundary_escalation_interrupting",
        "Boundary Escalation Interrupting",
        end(4, 1, escalation_def("needs_manager"), id_="needs_manager", name="Needs Manager"),
        escalation_def("needs_manager"),
        "ask_manager",
        [escalation("needs_manager")],
        "An escalation end event inside a sub-process, caught by an interrupting escalation boundary.",
        ["escalation end event", "boundary escalation (interrupting)"],
    )


@entry
def boundary_escalation_non_interrupting() -> Entry:
    inner = [
        start(1, 0, id_="budget_start"),
        user("draft_budget", "Draft Budget", 2, 0),
        node(
            "intermediateThrowEvent", "budget_heads_up", "Heads Up", 3, 0, escalation_def("budget_heads_up")
        ),
        user("finalize_budget", "Finalize Budget", 4, 0),
        end(5, 0, id_="budget_end", name="Budget Done"),
    ]
    budget = sub(
        "budget",
        "Budget",
        1,
        0,
        (5, 1),
        inner,
        chain("budget_start", "draft_budget", "budget_heads_up", "finalize_budget", "budget_end"),
    )
    nodes = [
        start(),
        budget,
        boundary(
            "heads_up_caught",
            "Heads Up",
            "budget",
            escalation_def("budget_heads_up"),
            offset=80,
            interrupting=False,
        ),
        user("inform_finance", "Inform Finance", 3, 1),
        end(4, 1, id_="informed", name="Informed"),
        user("publish", "Publish", 6, 0),
        end(7),
    ]
    flows = [
        *chain("start", "budget", "publish", "end"),
        *chain("heads_up_caught", "inform_finance", "informed"),
    ]
    return Entry(
        single(
            "boundary_escalation_non_interrupting",
            "Boundary Escalation Non-interrupting",
            nodes,
            flows,
            PM_ROWS_2,
            [escalation("budget_heads_up")],
        ),
        "An intermediate escalation throw inside a sub-process, caught by a non-interrupting escalation boundary.",
        ["escalation intermediate throw", "boundary escalation (non-interrupting)"],
        [
            Run(
                "heads_up",
                ["draft_budget"],
                [
                    done("draft_budget", "finalize_budget", "inform_finance"),
                    done("inform_finance", "finalize_budget"),
                    done("finalize_budget", "publish"),
                    done("publish"),
                ],
            )
        ],
    )


# ------------------------------------------------------------------------------------------ end events


@entry
def terminate_end() -> Entry:
    nodes = [
        start(0, 1),
        gateway("parallel", "split", "", 1, 1),
        user("prepare_launch", "Prepare Launch", 2, 0),
        end(3, 0),
        user("watch_market", "Watch Market", 2, 2, "decision", document="market"),
        gateway("exclusive", "still_wanted", "Still Wanted?", 3, 2),
        end(4, 2, id_="watched", name="Watched"),
        end(4, 3, "<bpmn:terminateEventDefinition />", id_="call_it_off", name="Call It Off"),
    ]
    flows = [
        Flow("start", "split"),
        *chain("split", "prepare_launch", "end"),
        *chain("split", "watch_market", "still_wanted"),
        Flow("still_wanted", "watched", "Yes", default=True),
        Flow("still_wanted", "call_it_off", "No", "market.decision == 'request_changes'"),
    ]
    return Entry(
        single("terminate_end", "Terminate End", nodes, flows, PM_ROWS_4),
        "A terminate end event: reaching it ends the whole launch, cancelling the other branch.",
        ["terminate end event", "parallel gateway"],
        [
            Run(
                "wanted",
                ["prepare_launch", "watch_market"],
                [approve("watch_market", "prepare_launch"), done("prepare_launch")],
            ),
            Run(
                "called_off",
                ["prepare_launch", "watch_market"],
                [changes("watch_market")],
                status="terminated",
            ),
        ],
    )


@entry
def message_end() -> Entry:
    nodes = [
        start(),
        user("close_deal", "Close Deal", 1, 0, document="deal_closed"),
        end(2, 0, message_def("deal_closed"), name="Deal Closed"),
    ]
    return Entry(
        single(
            "message_end",
            "Message End",
            nodes,
            chain("start", "close_deal", "end"),
            globals_=[message("deal_closed")],
        ),
        "A message end event: the launch ends by throwing deal_closed (its payload is the deal_closed document).",
        ["message end event"],
        [Run("closed", ["close_deal"], [done("close_deal")], outbox=["bpmn_event"])],
    )


@entry
def signal_end() -> Entry:
    nodes = [
        start(),
        user("finish_migration", "Finish Migration", 1, 0),
        end(2, 0, signal_def("migration_done"), name="Migration Done"),
    ]
    return Entry(
        single(
            "signal_end",
            "Signal End",
            nodes,
            chain("start", "finish_migration", "end"),
            globals_=[signal("migration_done")],
        ),
        "A signal end event: the launch ends by throwing migration_done to whoever waits for it.",
        ["signal end event"],
        [Run("signalled", ["finish_migration"], [done("finish_migration")], outbox=["bpmn_event"])],
    )


# ------------------------------------------------------------------------------------------- artifacts


def _data_diagram(process_id: str, name: str, associated: bool) -> Diagram:
    notes = Node(
        "feedback_notes",
        "dataObjectReference",
        "Feedback Notes",
        1,
        1,
        attrs={"dataObjectRef": "feedback_notes_object"},
    )
    store = Node(
        "customer_database",
        "dataStoreReference",
        "Customer Database",
        2,
        1,
        attrs={"dataStoreRef": "customer_database_store"},
    )
    note = Node("why_feedback", "textAnnotation", "Feedback is read before the launch goes on.", 3, 1)
    group = Node(
        "beta_group", "group", "", 1, 0, span=(2, 1), attrs={"categoryValueRef": "category_value_beta"}
    )
    nodes = [
        start(),
        user("collect_feedback", "Collect Feedback", 1, 0),
        user("read_feedback", "Read Feedback", 2, 0),
        end(3),
        notes,
        store,
        note,
        group,
    ]
    flows = [
        *chain("start", "collect_feedback", "read_feedback", "end"),
        Flow("why_feedback", "read_feedback", kind="association", id="why_feedback_association"),
    ]
    if associated:
        flows += [
            Flow(
                "collect_feedback",
                "feedback_notes",
                kind="dataOutputAssociation",
                id="collect_feedback_writes_notes",
            ),
            Flow(
                "read_feedback",
                "customer_database",
                kind="dataOutputAssociation",
                id="read_feedback_writes_database",
            ),
        ]
    diagram = single(
        process_id,
        name,
        nodes,
        flows,
        PM_ROWS_2,
        [
            '<bpmn:dataStore id="customer_database_store" name="Customer Database" />',
            '<bpmn:category id="category_launch">\n    <bpmn:categoryValue id="category_value_beta" value="Beta" />\n  </bpmn:category>',
        ],
    )
    diagram.pools[0].extra_xml = '<bpmn:dataObject id="feedback_notes_object" />'
    return diagram


_THROUGH_FEEDBACK = [
    Run("through", ["collect_feedback"], [done("collect_feedback", "read_feedback"), done("read_feedback")])
]


@entry
def data_and_artifacts() -> Entry:
    return Entry(
        _data_diagram("data_and_artifacts", "Data And Artifacts", associated=False),
        "A data object, a data store, a text annotation (associated with a task) and a group with its category: accepted, no runtime effect.",
        ["data object", "data store", "text annotation", "group", "category"],
        _THROUGH_FEEDBACK,
    )


@entry
def data_associations() -> Entry:
    return Entry(
        _data_diagram("data_associations", "Data Associations", associated=True),
        "The same with data output associations from the tasks to the data object and the data store, as modelers draw them.",
        ["data output association"],
        _THROUGH_FEEDBACK,
    )


# ------------------------------------------------------------------------------------ modeler tolerances


@entry
def message_without_reference() -> Entry:
    event = node(
        "intermediateCatchEvent",
        "contract_signed",
        "Contract Signed",
        2,
        0,
        "<bpmn:messageEventDefinition />",
    )
    nodes = [
        start(),
        user("send_contract", "Send Contract", 1, 0),
        event,
        user("countersign", "Countersign", 3, 0),
        end(4),
    ]
    return Entry(
        single(
            "message_without_reference",
            "Message Without Reference",
            nodes,
            chain("start", "send_contract", "contract_signed", "countersign", "end"),
        ),
        "A message catch whose definition references no <message> (as modelers often export it): the message is known by the event's name.",
        ["message catch without a message reference"],
        [
            Run(
                "signed",
                ["send_contract"],
                [done("send_contract"), send("Contract Signed", "countersign"), done("countersign")],
            )
        ],
    )


@entry
def vendor_extensions() -> Entry:
    review = user("review_terms", "Review Terms", 1, 0)
    review.attrs["camunda:formKey"] = "embedded:app:forms/review-terms.html"
    publish = user("publish_terms", "Publish Terms", 2, 0)
    publish.extensions = '<zeebe:formDefinition formKey="camunda-forms:bpmn:publish-terms" />'
    nodes = [start(), review, publish, end(3)]
    diagram = single(
        "vendor_extensions",
        "Vendor Extensions",
        nodes,
        chain("start", "review_terms", "publish_terms", "end"),
    )
    diagram.namespaces = {
        "camunda": "http://camunda.org/schema/1.0/bpmn",
        "zeebe": "http://camunda.org/schema/zeebe/1.0",
    }
    return Entry(
        diagram,
        "Other modelers' extensions (a camunda:formKey attribute, a zeebe:formDefinition element): ignored, with a warning.",
        ["vendor extensions (camunda, zeebe)"],
        [Run("through", ["review_terms"], [done("review_terms", "publish_terms"), done("publish_terms")])],
        warnings=["publish_terms", "review_terms"],
    )


@entry
def lanes_named_by_role() -> Entry:
    lanes = [
        Lane("lane_product", "Product Manager", None, (0, 1)),
        Lane("lane_support_team", "Support Team", None, (1, 2)),
    ]
    nodes = [
        start(),
        user("draft_notes", "Draft Notes", 1, 0),
        user("check_notes", "Check Notes", 2, 1),
        end(3, 1),
    ]
    return Entry(
        single(
            "lanes_named_by_role",
            "Lanes Named By Role",
            nodes,
            chain("start", "draft_notes", "check_notes", "end"),
            lanes,
        ),
        "Lanes without our role property, as another modeler draws them: each lane's name is taken as a role (a warning each).",
        ["lanes without a role property"],
        [Run("by_lane_name", ["draft_notes"], [done("draft_notes", "check_notes"), done("check_notes")])],
        warnings=["lane_product", "lane_support_team"],
    )


@entry
def latin1_encoding() -> Entry:
    nodes = [
        start(),
        user("pruefung", "Prüfung der Übersetzung", 1, 0),
        user("freigabe", "Freigabe für Café-Kunden", 2, 0),
        end(3, name="Erledigt"),
    ]
    diagram = single("latin1_encoding", "Übersetzung", nodes, chain("start", "pruefung", "freigabe", "end"))
    diagram.encoding = "ISO-8859-1"
    return Entry(
        diagram,
        "A diagram saved in ISO-8859-1 (declared in its XML declaration) with accented names: transcoded on deploy.",
        ["declared encoding other than UTF-8"],
        [Run("through", ["pruefung"], [done("pruefung", "freigabe"), done("freigabe")])],
    )


# ------------------------------------------------------------------------------------------ real launches

GATE_LANES = [
    Lane("lane_pm", "Product Manager", "pm", (0, 1)),
    Lane("lane_support", "Support Lead", "support_lead", (1, 3)),
]


@entry
def real_launch_gated() -> Entry:
    review = user(
        "review_proposal",
        "Review Proposal",
        2,
        1,
        "decision",
        document="proposal_review",
        gate_item="proposal_signoff",
        gate_item_title="Proposal sign-off",
        gate_pass_when="proposal_review.decision == 'approve'",
    )
    inner = [
        start(1, 1, id_="review_start"),
        review,
        gateway("exclusive", "proposal_approved", "Approved?", 3, 1),
        user(
            "clarify_proposal",
            "Clarify Proposal",
            3,
            2,
            document="proposal_notes",
            gate_part_of="proposal_signoff",
        ),
        end(4, 1, id_="review_end", name="Signed Off"),
    ]
    inner_flows = [
        *chain("review_start", "review_proposal", "proposal_approved"),
        Flow("proposal_approved", "review_end", "Approved", default=True),
        Flow(
            "proposal_approved",
            "clarify_proposal",
            "Changes",
            "proposal_review.decision == 'request_changes'",
        ),
        Flow("clarify_proposal", "review_proposal"),
    ]
    signoff = sub("proposal_review_stage", "Proposal Review", 1, 1, (4, 2), inner, inner_flows)
    readiness = node(
        "callActivity", "support_ready", "Support Ready", 5, 1, calledElement="support_readiness"
    )
    nodes = [
        start(),
        user("draft_proposal", "Draft Proposal", 1, 0, document="proposal", gate_part_of="proposal_signoff"),
        signoff,
        readiness,
        user(
            "acknowledge_readiness",
            "Acknowledge Readiness",
            6,
            1,
            gate_item="support_ready",
            gate_item_title="Support ready",
        ),
        user("go_live", "Go Live", 7, 0, go_live="true"),
        end(8),
    ]
    flows = chain(
        "start",
        "draft_proposal",
        "proposal_review_stage",
        "support_ready",
        "acknowledge_readiness",
        "go_live",
        "end",
    )
    return Entry(
        single(
            "real_launch_gated",
            "Real Launch Gated",
            nodes,
            flows,
            GATE_LANES,
            documentation="A launch whose gate items are decided inside a sub-process and after a call activity.",
        ),
        "A gated launch: the proposal sign-off (gate item) inside an embedded sub-process with its clarification loop, support readiness by a call activity, then go-live.",
        ["gate items in a sub-process", "call activity", "go-live", "rework loop"],
        [
            Run(
                "one_rework_round",
                ["draft_proposal"],
                [
                    done("draft_proposal", "review_proposal"),
                    changes("review_proposal", "clarify_proposal"),
                    done("clarify_proposal", "review_proposal"),
                    approve("review_proposal", "train_agents"),
                    done("train_agents", "write_macros"),
                    done("write_macros", "acknowledge_readiness"),
                    done("acknowledge_readiness", "go_live"),
                    done("go_live"),
                ],
            )
        ],
        needs=["support_readiness"],
    )


@entry
def real_launch_readiness() -> Entry:
    review = user(
        "review_proposal",
        "Review Proposal",
        3,
        1,
        "decision",
        document="proposal_review",
        gate_item="proposal_signoff",
        gate_item_title="Proposal sign-off",
        gate_pass_when="proposal_review.decision == 'approve'",
    )
    inner = [
        start(2, 1, id_="review_start"),
        review,
        gateway("exclusive", "proposal_approved", "Approved?", 4, 1),
        user(
            "clarify_proposal",
            "Clarify Proposal",
            4,
            2,
            document="proposal_notes",
            gate_part_of="proposal_signoff",
        ),
        end(5, 1, id_="review_end", name="Signed Off"),
    ]
    inner_flows = [
        *chain("review_start", "review_proposal", "proposal_approved"),
        Flow("proposal_approved", "review_end", "Approved", default=True),
        Flow(
            "proposal_approved",
            "clarify_proposal",
            "Changes",
            "proposal_review.decision == 'request_changes'",
        ),
        Flow("clarify_proposal", "review_proposal"),
    ]
    regional = user(
        "regional_signoff",
        "Regional Sign-off",
        7,
        1,
        "decision",
        document="regional_signoff",
        gate_item="regional_signoff",
        gate_item_title="Regional sign-offs",
        gate_pass_when="regional_signoff.decision == 'approve'",
    )
    regional.body = _mi(cardinality=3, condition="approved >= 2")
    notice = node("sendTask", "send_launch_notice", "Send Launch Notice", 9, 0)
    notice.props = {
        "connector": "email",
        "to": "role:support_lead",
        "subject": "{product_name} goes live on {planned_launch_date}",
    }
    nodes = [
        start(),
        user("draft_proposal", "Draft Proposal", 1, 0, document="proposal", gate_part_of="proposal_signoff"),
        sub("proposal_review_stage", "Proposal Review", 2, 1, (4, 2), inner, inner_flows),
        gateway("parallel", "split_readiness", "", 6, 1),
        regional,
        user("write_faq", "Write FAQ", 7, 2),
        boundary("faq_late", "Three Days", "write_faq", timer("timeDuration", "'P3D'"), interrupting=False),
        user("remind_faq", "Remind FAQ Author", 8, 3),
        end(9, 3, id_="reminded", name="Reminded"),
        gateway("parallel", "join_readiness", "", 8, 1),
        notice,
        user(
            "acknowledge_notice",
            "Acknowledge Notice",
            10,
            1,
            gate_item="launch_notice",
            gate_item_title="Launch notice",
        ),
        user("go_live", "Go Live", 11, 0, go_live="true"),
        end(12),
    ]
    flows = [
        *chain("start", "draft_proposal", "proposal_review_stage", "split_readiness"),
        *chain("split_readiness", "regional_signoff", "join_readiness"),
        *chain("split_readiness", "write_faq", "join_readiness"),
        *chain("faq_late", "remind_faq", "reminded"),
        *chain("join_readiness", "send_launch_notice", "acknowledge_notice", "go_live", "end"),
    ]
    lanes = [
        Lane("lane_pm", "Product Manager", "pm", (0, 1)),
        Lane("lane_support", "Support Lead", "support_lead", (1, 4)),
    ]
    return Entry(
        single("real_launch_readiness", "Real Launch Readiness", nodes, flows, lanes),
        "A gated launch combining a sub-process (the proposal sign-off and its clarification loop), a parallel split into a multi-instance regional sign-off (2 of 3) and an FAQ with a reminder timer, the launch notice by e-mail, its acknowledgement, go-live.",
        [
            "gate item in a sub-process",
            "multi-instance gate item",
            "parallel gateway",
            "boundary timer (non-interrupting)",
            "send task",
            "go-live",
        ],
        [
            Run(
                "ready",
                ["draft_proposal"],
                [
                    done("draft_proposal", "review_proposal"),
                    changes("review_proposal", "clarify_proposal"),
                    done("clarify_proposal", "review_proposal"),
                    approve(
                        "review_proposal",
                        "regional_signoff",
                        "regional_signoff",
                        "regional_signoff",
                        "write_faq",
                    ),
                    approve("regional_signoff", "regional_signoff", "regional_signoff", "write_faq"),
                    changes("regional_signoff", "regional_signoff", "write_faq"),
                    approve("regional_signoff", "write_faq"),
                    wait("P3D", "remind_faq", "write_faq"),
                    done("remind_faq", "write_faq"),
                    done("write_faq", "acknowledge_notice"),
                    done("acknowledge_notice", "go_live"),
                    done("go_live"),
                ],
                outbox=["connector_email"],
            )
        ],
    )


@entry
def real_launch_regional() -> Entry:
    signoff = user(
        "regional_signoff",
        "Regional Sign-off",
        2,
        1,
        "decision",
        collection="plan.regions",
        document="regional_signoff",
        gate_item="regional_signoff",
        gate_item_title="Regional sign-offs",
        gate_pass_when="regional_signoff.decision == 'approve'",
    )
    signoff.body = _mi(condition="approved >= 2")
    nodes = [
        start(),
        user(
            "plan_regions", "Plan Regions", 1, 0, "regions", document="plan", gate_part_of="regional_signoff"
        ),
        signoff,
        user("go_live", "Go Live", 3, 0, go_live="true"),
        end(4),
    ]
    return Entry(
        single(
            "real_launch_regional",
            "Real Launch Regional",
            nodes,
            chain("start", "plan_regions", "regional_signoff", "go_live", "end"),
            TWO_LANES,
        ),
        "A gated launch with one support sign-off per region (multi-instance over the plan's regions), done when 2 approve.",
        ["multi-instance gate item", "completion condition (approved)", "go-live"],
        [
            Run(
                "two_of_three_approve",
                ["plan_regions"],
                [
                    done(
                        "plan_regions",
                        "regional_signoff",
                        "regional_signoff",
                        "regional_signoff",
                        data=REGIONS_3,
                    ),
                    approve("regional_signoff", "regional_signoff", "regional_signoff"),
                    approve("regional_signoff", "go_live"),
                    done("go_live"),
                ],
            )
        ],
    )


@entry
def real_launch_cancellation() -> Entry:
    nodes = [
        start(),
        user("draft_proposal", "Draft Proposal", 1, 0, document="proposal", gate_part_of="proposal_signoff"),
        user(
            "review_proposal",
            "Review Proposal",
            2,
            1,
            "decision",
            document="proposal_review",
            gate_item="proposal_signoff",
            gate_item_title="Proposal sign-off",
            gate_pass_when="proposal_review.decision == 'approve'",
        ),
        boundary("launch_cancelled", "Launch Cancelled", "review_proposal", message_def("launch_cancelled")),
        user("record_cancellation", "Record Cancellation", 3, 2),
        end(4, 2, "<bpmn:terminateEventDefinition />", id_="cancelled", name="Cancelled"),
        gateway("exclusive", "proposal_approved", "Approved?", 3, 1),
        user("go_live", "Go Live", 4, 0, go_live="true"),
        end(5),
        end(4, 1, "<bpmn:terminateEventDefinition />", id_="rejected", name="Rejected"),
    ]
    flows = [
        *chain("start", "draft_proposal", "review_proposal", "proposal_approved"),
        Flow("proposal_approved", "go_live", "Approved", default=True),
        Flow("proposal_approved", "rejected", "Rejected", "proposal_review.decision == 'request_changes'"),
        Flow("go_live", "end"),
        *chain("launch_cancelled", "record_cancellation", "cancelled"),
    ]
    lanes = [
        Lane("lane_pm", "Product Manager", "pm", (0, 1)),
        Lane("lane_support", "Support Lead", "support_lead", (1, 3)),
    ]
    return Entry(
        single(
            "real_launch_cancellation",
            "Real Launch Cancellation",
            nodes,
            flows,
            lanes,
            [message("launch_cancelled")],
        ),
        "A gated launch that can be cancelled: a launch_cancelled message during the review, or a rejected proposal, ends it by a terminate end event (never live).",
        ["terminate end event", "boundary message (interrupting)", "go-live"],
        [
            Run(
                "goes_live",
                ["draft_proposal"],
                [
                    done("draft_proposal", "review_proposal"),
                    approve("review_proposal", "go_live"),
                    done("go_live"),
                ],
            ),
            Run(
                "rejected",
                ["draft_proposal"],
                [done("draft_proposal", "review_proposal"), changes("review_proposal")],
                status="terminated",
            ),
            Run(
                "cancelled",
                ["draft_proposal"],
                [
                    done("draft_proposal", "review_proposal"),
                    send("launch_cancelled", "record_cancellation"),
                    done("record_cancellation"),
                ],
                status="terminated",
            ),
        ],
    )


@entry
def real_launch_beta_cycle() -> Entry:
    receive = node("receiveTask", "beta_running", "Beta Running", 2, 0, messageRef="message_beta_ended")
    notice = node("sendTask", "send_launch_notice", "Send Launch Notice", 3, 0)
    notice.props = {
        "connector": "email",
        "to": "role:support_lead",
        "subject": "{product_name} launches soon",
    }
    nodes = [
        start(),
        user("open_beta", "Open Beta", 1, 0),
        receive,
        boundary(
            "every_week", "Every Week", "beta_running", timer("timeCycle", "'R3/P7D'"), interrupting=False
        ),
        user("weekly_beta_report", "Weekly Beta Report", 3, 1),
        end(4, 1, id_="reported", name="Reported"),
        notice,
        user("acknowledge_notice", "Acknowledge Notice", 4, 0),
        end(5),
    ]
    flows = [
        *chain("start", "open_beta", "beta_running", "send_launch_notice", "acknowledge_notice", "end"),
        *chain("every_week", "weekly_beta_report", "reported"),
    ]
    return Entry(
        single(
            "real_launch_beta_cycle",
            "Real Launch Beta Cycle",
            nodes,
            flows,
            PM_ROWS_2,
            [message("beta_ended")],
        ),
        "A beta that runs until an external system sends beta_ended, with a weekly report (timer cycle) meanwhile, then the launch notice by e-mail.",
        ["receive task", "timer cycle", "send task", "boundary timer (non-interrupting)"],
        [
            Run(
                "two_weeks",
                ["open_beta"],
                [
                    done("open_beta"),
                    wait("P7D", "weekly_beta_report"),
                    done("weekly_beta_report"),
                    wait("P7D", "weekly_beta_report"),
                    send("beta_ended", "acknowledge_notice", "weekly_beta_report"),
                    done("weekly_beta_report", "acknowledge_notice"),
                    done("acknowledge_notice"),
                ],
                outbox=["connector_email"],
            )
        ],
    )


def build() -> dict[str, Entry]:
    entries = [make() for make in ENTRIES]
    return {e.diagram.name: e for e in entries}


def write(directory: Path = CORPUS) -> list[str]:
    """Write every diagram and script; returns the names."""
    (directory / "scripts").mkdir(parents=True, exist_ok=True)
    names = []
    for name, item in build().items():
        (directory / f"{name}.bpmn").write_bytes(to_xml(item.diagram).encode(item.diagram.encoding))
        script = json.dumps(item.script(), indent=2, ensure_ascii=False) + "\n"
        (directory / "scripts" / f"{name}.json").write_text(script, encoding="utf-8")
        names.append(name)
    return names


def table(names: list[str]) -> str:
    """The docs/corpus.md table of the named diagrams: what each covers, its runs."""
    entries = build()
    lines = ["| diagram | covers | runs | what it shows |", "|---|---|---|---|"]
    for name in names:
        item = entries[name]
        runs = ", ".join(f"`{r.name}`" + (f" ({r.status})" if r.status != "live" else "") for r in item.runs)
        lines.append(f"| `{name}` | {', '.join(item.covers)} | {runs} | {item.about.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--table"]:
        names = sorted(p.stem for p in (CORPUS / "scripts").glob("*.json")) if len(argv) == 1 else argv[1:]
        sys.stdout.write(table(names))
        return 0
    names = write()
    sys.stdout.write(f"wrote {len(names)} diagrams to {CORPUS}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
