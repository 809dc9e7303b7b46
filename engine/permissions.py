"""Who may do what. Deny by default: every rule is a function that returns None when allowed and the reason
when not; the service raises PermissionDeniedError with that reason (and audits it)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.domain import WORKING_ROLES, Actor, Role, TaskStatus

READ_ROLES = frozenset(Role)
SUPPORT_ROLE = Role.SUPPORT_LEAD.value


@dataclass(frozen=True)
class TaskFacts:
    """What a rule needs to know about a task and its launch."""

    role: str
    assignee: str | None
    status: TaskStatus
    launch_pm: str
    reviews_author: str | None = None  # who last wrote the document this task reviews


def may_read(actor: Actor) -> str | None:
    if not actor.roles & READ_ROLES:
        return "you have no role in Launch Gate"
    return None


def may_comment(actor: Actor) -> str | None:
    if actor.roles & WORKING_ROLES:
        return None
    return "auditors and admins read launches; they do not comment on them"


def may_start_launch(actor: Actor) -> str | None:
    return None if actor.has_role(Role.PM) else "only a product manager (pm) can start a launch"


def may_deploy_process(actor: Actor) -> str | None:
    return None if actor.has_role(Role.ADMIN) else "only an admin can deploy process versions"


def may_retry_delivery(actor: Actor) -> str | None:
    return None if actor.has_role(Role.ADMIN) else "only an admin can retry a message delivery"


def may_send_message(actor: Actor) -> str | None:
    """Messages from outside (an external system with a PM's or an admin's API token, or a person)."""
    if actor.roles & {Role.PM, Role.ADMIN}:
        return None
    return "only a product manager (pm) or an admin can send a message to a launch"


def may_broadcast_signal(actor: Actor) -> str | None:
    return None if actor.has_role(Role.ADMIN) else "only an admin can broadcast a signal"


def may_verify_audit(actor: Actor) -> str | None:
    return (
        None
        if actor.roles & {Role.AUDITOR, Role.ADMIN}
        else "only auditors and admins can verify the audit chain"
    )


def may_complete(actor: Actor, task: TaskFacts) -> str | None:
    if not actor.has_role(task.role):
        return f"this task is for the {task.role} role, which you do not hold"
    if task.assignee is not None and task.assignee != actor.username:
        return f"this task is assigned to {task.assignee}"
    if task.reviews_author is not None and task.reviews_author == actor.username:
        return "you cannot approve your own submission: another person must review it"
    return None


def may_claim(actor: Actor, task: TaskFacts) -> str | None:
    if not actor.has_role(task.role):
        return f"this task is for the {task.role} role, which you do not hold"
    if task.role != SUPPORT_ROLE and actor.username != task.launch_pm:
        return "only the launch's product manager can take its product-manager tasks (or assign them)"
    if task.assignee is not None and task.assignee != actor.username:
        return f"this task is already assigned to {task.assignee}"
    return None


def may_release(actor: Actor, task: TaskFacts) -> str | None:
    if task.assignee is None:  # already in the queue: a no-op for whoever could have held or assigned it
        if actor.has_role(task.role) or _manages(actor, task):
            return None
        return "only the assignee, or whoever may assign this task, can release it"
    if task.assignee == actor.username or _manages(actor, task):
        return None
    return "only the assignee, or whoever may assign this task, can release it"


def may_assign(actor: Actor, task: TaskFacts) -> str | None:
    if _manages(actor, task):
        return None
    if task.role == SUPPORT_ROLE:
        return "only a support manager can assign support tasks"
    return "only the launch's product manager can assign its product-manager tasks"


def _manages(actor: Actor, task: TaskFacts) -> bool:
    if task.role == SUPPORT_ROLE:
        return actor.has_role(Role.SUPPORT_MANAGER)
    return actor.has_role(Role.PM) and actor.username == task.launch_pm
