"""The lanes and user tasks of a process, read into `UserTaskModel`s with their problems: a role from the
lane, a known form, a safe pass condition, a due date in range, names on one line."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import replace

from lxml import etree

from engine.domain import WORKING_ROLES, Role
from engine.model import UserTaskModel
from engine.specs.bpmn_xml import NS, local_name, properties
from engine.specs.elements import FLOW_NODES, FORM_FILE_PROPERTIES
from engine.specs.findings import Findings, checked_expression, checked_label

MAX_DUE_DAYS = 365
# The BPMN elements a person does (the inbox's tasks): user tasks, manual tasks and plain <task>s.
HUMAN_TASKS = ("userTask", "manualTask", "task")
_HUMAN_TAGS = frozenset(f"{{{NS['bpmn']}}}{name}" for name in HUMAN_TASKS)
KNOWN_ROLES = frozenset(role.value for role in WORKING_ROLES)
STARTER_ROLE = Role.PM.value  # only a pm starts a launch
# Lane names (lower case, words split by spaces) that stand for a role when a lane has no `role` property.
LANE_NAMES = {
    "pm": "pm",
    "pms": "pm",
    "product manager": "pm",
    "product managers": "pm",
    "product management": "pm",
    "support lead": "support_lead",
    "support leads": "support_lead",
    "support": "support_lead",
    "support team": "support_lead",
    "support manager": "support_manager",
    "support managers": "support_manager",
    "support management": "support_manager",
}


def lane_roles(process: etree._Element, found: Findings) -> dict[str, str]:
    """Flow node id -> the role of its lane. A node inside a sub-process takes the role of a lane of the
    sub-process's own lane set that holds it, else the role of the sub-process."""
    roles: dict[str, str] = {}
    _scope_roles(process, None, roles, found)
    return roles


def _scope_roles(
    scope: etree._Element, inherited: str | None, roles: dict[str, str], found: Findings
) -> None:
    local: dict[str, str] = {}
    for lane in scope.iterfind("bpmn:laneSet//bpmn:lane", NS):  # a child lane after its parent: it wins
        role = _lane_role(lane, found)
        if role is None:
            continue
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            if ref.text:
                local[ref.text.strip()] = role
    for child in scope:
        if not isinstance(child.tag, str) or local_name(child.tag) not in FLOW_NODES:
            continue
        node_id = child.get("id") or ""
        role = local.get(node_id, inherited)
        if role is not None:
            roles[node_id] = role
        if local_name(child.tag) == "subProcess":
            _scope_roles(child, role, roles, found)


def _lane_role(lane: etree._Element, found: Findings) -> str | None:
    """The lane's role: its `role` property, else its name when `LANE_NAMES` maps it to a role (with a
    warning either way the property is missing); None when its tasks go to the launch's starter."""
    role = properties(lane).get("role")
    if role is None:
        if lane.find("bpmn:childLaneSet", NS) is not None:
            return None  # a parent lane's roles are its child lanes'
        name = lane.get("name") or ""
        mapped = role_from_lane_name(name)
        if mapped is not None:
            found.warning(
                lane.get("id"), f"lane has no 'role' property: its name {name!r} is taken as {mapped}"
            )
        else:
            found.warning(
                lane.get("id"),
                f"lane has no 'role' property and its name {name!r} names no role: "
                "its tasks go to the launch's starter",
            )
        return mapped
    if role not in KNOWN_ROLES:
        found.problem(
            lane.get("id"),
            f"lane's role {role!r} is not a role that works tasks "
            f"(one of: {', '.join(sorted(KNOWN_ROLES))}); nobody could work its tasks",
        )
        return None
    return role


def role_from_lane_name(name: str) -> str | None:
    """The role a lane's name stands for (`LANE_NAMES`, case, spaces, '_' and '-' aside), or None."""
    words = " ".join("".join(c if c.isalnum() else " " for c in name.lower()).split())
    return LANE_NAMES.get(words)


def role_of(roles: Mapping[str, str], node_id: str) -> tuple[str, bool]:
    """A task's role and whether it goes to the launch's starter: a task in no lane with a role goes to
    whoever started the launch (always a pm), so it is a pm task assigned to them."""
    role = roles.get(node_id)
    return (role, False) if role is not None else (STARTER_ROLE, True)


def user_tasks(
    process: etree._Element,
    roles: Mapping[str, str],
    known_forms: Collection[str] | None,
    found: Findings,
) -> dict[str, UserTaskModel]:
    """Every task a person does (user, manual and plain tasks) by id, in document order (`known_forms`
    None: any task may have a form)."""
    tasks: dict[str, UserTaskModel] = {}
    for el in process.iter(*_HUMAN_TAGS):  # inside sub-processes too
        task_id = el.get("id") or ""
        role, to_starter = role_of(roles, task_id)
        if to_starter:
            found.warning(task_id, "user task is in no lane with a role: it goes to the launch's starter")
        if known_forms is not None and task_id not in known_forms:
            found.problem(task_id, "user task has no form model in Launch Gate")
        tasks[task_id] = replace(_user_task(el, task_id, role, found), to_starter=to_starter)
    _check_shown(tasks, found)
    return tasks


def shown_task_ids(value: str | None) -> tuple[str, ...]:
    """`showDocuments`: comma-separated user task ids, in order, each once."""
    ids = [part.strip() for part in (value or "").split(",")]
    return tuple(dict.fromkeys(i for i in ids if i))


def _check_shown(tasks: Mapping[str, UserTaskModel], found: Findings) -> None:
    for task in tasks.values():
        for shown in task.shows:
            if shown == task.id:
                found.problem(task.id, "showDocuments names the task itself; its own form already shows it")
            elif shown not in tasks:
                found.problem(
                    task.id, f"showDocuments names {shown!r}, which is not a user task of this process"
                )


def _user_task(el: etree._Element, task_id: str, role: str, found: Findings) -> UserTaskModel:
    props = properties(el)
    pass_when = checked_expression(found, task_id, props.get("gate_pass_when"), "gate_pass_when")
    due_days = _due_days(task_id, props.get("due_in_business_days"), found)
    doc = el.find("bpmn:documentation", NS)
    files = tuple(props[p] for p in FORM_FILE_PROPERTIES if props.get(p))
    if files:
        found.form_files[task_id] = files
    return UserTaskModel(
        id=task_id,
        title=checked_label(found, task_id, el.get("name")) or task_id,
        role=role,
        documentation=(doc.text or "").strip() if doc is not None else "",
        document=props.get("document", task_id),
        reviews=props.get("reviews"),
        gate_item=props.get("gate_item"),
        gate_item_title=checked_label(found, task_id, props.get("gate_item_title")),
        gate_pass_when=pass_when,
        gate_part_of=props.get("gate_part_of"),
        go_live=props.get("go_live", "false").lower() == "true",
        due_in_business_days=due_days,
        sends=props.get("sends"),
        shows=shown_task_ids(props.get("showDocuments")),
        kind=etree.QName(el).localname,
    )


def _due_days(task_id: str, due: str | None, found: Findings) -> int | None:
    if due is None:
        return None
    if due.isdigit() and 0 < int(due) <= MAX_DUE_DAYS:
        return int(due)
    found.problem(
        task_id, f"due_in_business_days must be a whole number from 1 to {MAX_DUE_DAYS}, not {due!r}"
    )
    return None
