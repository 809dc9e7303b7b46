"""The gate: which items have passed, what still blocks go-live, and the go-live rule. One place for each.

Gate facts live in `gate_item` rows, never in task data, so no form submission can write them.

- At load/deploy: `check_gate_graph` — the diagram marks one go-live task and its gate items coherently,
  and no path from the start reaches go-live without passing every gate item.
- At run time: `changes_after_completion` (what a completion does to the items), `gate_views` /
  `blockers` (who holds each open item), and the go-live rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from engine.audit import canonical_json
from engine.domain import BlockerView, GateFact, GateItemStatus, GateItemView, TaskStatus, view_from
from engine.errors import DiagramProblem, ExpressionEvaluationError, GateBlockedError, WorkflowStuckError
from engine.expressions import evaluate_condition
from engine.gate_paths import FlowGraph, reachable, skip_reason
from engine.model import ProcessModel, UserTaskModel


class InstanceOutcome(Protocol):
    """What the gate reads of a completed multi-instance instance (engine.runtime.InstanceProgress fits)."""

    @property
    def finished(self) -> bool: ...
    @property
    def passed(self) -> bool: ...
    @property
    def approved(self) -> int: ...
    @property
    def total(self) -> int: ...
    @property
    def needed(self) -> int | None: ...


class HeldTask(Protocol):
    """What the gate reads of an open task: a task index row (engine.db.rows.TaskRow) fits."""

    @property
    def id(self) -> str: ...
    @property
    def bpmn_id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def escalated_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class GateChange:
    key: str
    status: GateItemStatus
    passed_at: datetime | None
    passed_by: str | None
    content_hash: str | None
    progress: tuple[int, int, int | None] | None = None  # a multi-instance item: (passing, total, needed)


def document_hash(document: Mapping[str, Any] | None) -> str:
    """Content hash of a document (the proposal, the report template): what a sign-off approved."""
    return hashlib.sha256(canonical_json(document or {}).encode("utf-8")).hexdigest()


def changes_after_completion(
    model: ProcessModel,
    task: UserTaskModel,
    *,
    data_after: Mapping[str, Any],
    actor: str,
    at: datetime,
    facts: Mapping[str, GateFact],
    instance: InstanceOutcome | None = None,
) -> list[GateChange]:
    """What completing `task` does to the gate.

    - A gate item task passes its item when its pass rule holds (default: completion passes) and re-opens it
      otherwise (a review asking for changes).
    - A multi-instance gate item task (`instance`: the instance just completed) decides its item only when
      its multi-instance finishes: passed when its completion condition holds counting the instances that
      passed their pass rule ("2 of 3 regions approved"), open otherwise; an earlier instance changes
      only the item's progress (passing instances so far, instances, passing ones needed).
    - A task that is part of an item (a draft, a revision) re-opens a passed item: the signed-off
      material changed.
    """
    changes: list[GateChange] = []
    if task.gate_item and instance is not None and not instance.finished:
        fact = facts.get(task.gate_item)
        if fact is not None:  # it waits for the last instance it needs: only its progress moves
            changes.append(
                GateChange(
                    fact.key,
                    fact.status,
                    fact.passed_at,
                    fact.passed_by,
                    fact.content_hash,
                    _progress(instance),
                )
            )
    elif task.gate_item:
        passed = instance.passed if instance is not None else _passes(task, data_after)
        progress = _progress(instance) if instance is not None else None
        reviewed = data_after.get(task.reviews) if task.reviews else data_after.get(task.document)
        if passed:
            changes.append(
                GateChange(
                    task.gate_item, GateItemStatus.PASSED, at, actor, document_hash(reviewed), progress
                )
            )
        else:
            changes.append(GateChange(task.gate_item, GateItemStatus.OPEN, None, None, None, progress))
    if task.gate_part_of:
        fact = facts.get(task.gate_part_of)
        if fact is not None and fact.status is GateItemStatus.PASSED:
            changes.append(GateChange(task.gate_part_of, GateItemStatus.OPEN, None, None, None))
    return changes


def _progress(instance: InstanceOutcome) -> tuple[int, int, int | None]:
    return (instance.approved, instance.total, instance.needed)


def _passes(task: UserTaskModel, data_after: Mapping[str, Any]) -> bool:
    if task.gate_pass_when is None:
        return True
    try:
        return evaluate_condition(task.gate_pass_when, data_after)
    except ExpressionEvaluationError as exc:
        raise WorkflowStuckError(f"the gate rule of {task.id} could not be evaluated: {exc.message}") from exc


def apply_changes(facts: Mapping[str, GateFact], changes: Iterable[GateChange]) -> dict[str, GateFact]:
    """The gate facts after `changes` (in order: a later change to the same item wins)."""
    merged = dict(facts)
    for change in changes:
        merged[change.key] = replace(
            merged[change.key],
            status=change.status,
            passed_at=change.passed_at,
            passed_by=change.passed_by,
            content_hash=change.content_hash,
            progress_done=change.progress[0] if change.progress else None,
            progress_total=change.progress[1] if change.progress else None,
            progress_needed=change.progress[2] if change.progress else None,
        )
    return merged


def passed_count(facts: Iterable[GateFact]) -> int:
    return sum(1 for f in facts if f.status is GateItemStatus.PASSED)


def refuse_go_live_while_blocked(
    model: ProcessModel, task: UserTaskModel, facts: Iterable[GateFact], ready: Iterable[HeldTask]
) -> None:
    """THE go-live rule: the go-live task cannot complete while any gate item is open (GateBlockedError
    names each item, who holds it, since when and when it is due)."""
    if not task.go_live:
        return
    found = blockers(gate_views(model, facts, ready))
    if found:
        names = ", ".join(b.describe() for b in found)
        raise GateBlockedError(f"go-live is blocked by {len(found)} gate item(s): {names}", found)


def refuse_finish_with_open_items(finished: bool, facts: Iterable[GateFact]) -> None:
    """A workflow that reached its end while a gate item is open is a broken diagram or state, never a
    launch that went live: refuse to record it."""
    facts = tuple(facts)
    if finished and passed_count(facts) != len(facts):
        raise WorkflowStuckError("the workflow finished with gate items open; refusing to record it")


def _holding_tasks(model: ProcessModel, key: str, open_tasks: Iterable[HeldTask]) -> list[HeldTask]:
    item = model.gate_item(key)
    holders = []
    for task in open_tasks:
        spec = model.tasks.get(task.bpmn_id)
        if task.status == TaskStatus.READY and (
            task.bpmn_id == item.task_id or (spec is not None and spec.gate_part_of == key)
        ):
            holders.append(task)
    return sorted(holders, key=lambda t: t.created_at)


def gate_views(
    model: ProcessModel, facts: Iterable[GateFact], open_tasks: Iterable[HeldTask]
) -> tuple[GateItemView, ...]:
    views = []
    open_tasks = tuple(open_tasks)
    for fact in sorted(facts, key=lambda f: f.position):
        holders = _holding_tasks(model, fact.key, open_tasks) if fact.status is GateItemStatus.OPEN else []
        holder = holders[0] if holders else None
        item = model.gate_item(fact.key) if fact.key in {g.key for g in model.gate_items} else None
        views.append(
            view_from(
                GateItemView,
                fact,
                holder_role=holder.role
                if holder
                else (item.role if item and fact.status is GateItemStatus.OPEN else None),
                holder_assignee=holder.assignee if holder else None,
                holding_task_id=holder.id if holder else None,
                since=holder.created_at if holder else fact.opened_at,
                due_at=holder.due_at if holder else None,
                escalated_at=holder.escalated_at if holder else None,
            )
        )
    return tuple(views)


def blockers(gate: Iterable[GateItemView]) -> tuple[BlockerView, ...]:
    """Every gate item not yet passed: the answer to "may this launch go live?"."""
    return tuple(
        BlockerView(
            item=g.key,
            title=g.title,
            owner_role=g.holder_role,
            owner=g.holder_assignee,
            task_id=g.holding_task_id,
            since=g.since,
            due_at=g.due_at,
        )
        for g in gate
        if g.status is not GateItemStatus.PASSED
    )


def blocked_by_summary(facts: Iterable[GateFact]) -> str:
    """Comma-separated keys of open items, denormalised onto the launch row for list views."""
    return ",".join(f.key for f in facts if f.status is not GateItemStatus.PASSED)


# ---------------------------------------------------------------------------------------- the diagram


def check_gate_graph(
    graph: FlowGraph, tasks: Mapping[str, UserTaskModel], *, process_id: str | None
) -> list[DiagramProblem]:
    """Every gate problem of a diagram: the markings (one go-live task, gate items marked once, known
    `gate_part_of`), then the paths (go-live is reachable, and not while avoiding any gate item)."""
    called = {i: m for i, m in graph.called_marks.items() if i not in tasks}  # same-document calls
    go_live = [t.id for t in tasks.values() if t.go_live] + [i for i, (live, _) in called.items() if live]
    if len(go_live) != 1:
        return [DiagramProblem(process_id, f"expected exactly one go-live task, found {len(go_live)}")]
    items = [(t.id, t.gate_item) for t in tasks.values() if t.gate_item]
    items += [(i, key) for i, (_, key) in called.items() if key]
    problems = _marking_problems(tasks, [key for _, key in items], process_id=process_id)
    if graph.start is not None:
        problems += _path_problems(graph, go_live[0], items)
    return problems


def _marking_problems(
    tasks: Mapping[str, UserTaskModel], keys: Sequence[str], *, process_id: str | None
) -> list[DiagramProblem]:
    problems = []
    if not keys:
        problems.append(
            DiagramProblem(process_id, "no gate items are marked: the go-live step would be ungated")
        )
    for key in {k for k in keys if keys.count(k) > 1}:
        problems.append(DiagramProblem(process_id, f"gate item {key!r} is marked on more than one task"))
    for task in tasks.values():
        if task.gate_part_of and task.gate_part_of not in keys:
            problems.append(
                DiagramProblem(task.id, f"gate_part_of names unknown gate item {task.gate_part_of!r}")
            )
        if task.go_live and task.gate_item:
            problems.append(DiagramProblem(task.id, "the go-live task cannot also be a gate item"))
    return problems


def _path_problems(graph: FlowGraph, go_live: str, items: Sequence[tuple[str, str]]) -> list[DiagramProblem]:
    """Go-live is reachable, never around a gate item, never more than once; a multi-instance gate item
    needs at least one real sign-off (engine.gate_paths reads every construct)."""
    goals = graph.copies(go_live)
    if not reachable(graph, goals):
        return [DiagramProblem(go_live, "the go-live task cannot be reached from the start event")]
    problems = _go_live_once(graph, go_live, goals)
    for task_id, key in items:
        copies = graph.copies(task_id)
        skips = [r for r in (skip_reason(graph.multi[c]) for c in copies if c in graph.multi) if r]
        if skips:
            problems.append(
                DiagramProblem(
                    task_id,
                    f"gate item {key!r} is multi-instance and could complete without a single "
                    f"sign-off: {skips[0]}",
                )
            )
        elif reachable(graph, goals, avoid=copies):
            problems.append(
                DiagramProblem(
                    go_live,
                    f"a path reaches the go-live task without passing gate item {key!r} ({task_id})",
                )
            )
    return problems


def _go_live_once(graph: FlowGraph, go_live: str, goals: set[str]) -> list[DiagramProblem]:
    """Go-live happens once: the task is not multi-instance, nor inside a multi-instance body."""
    for node in goals:
        scope: str | None = node
        while scope:
            if scope in graph.multi:
                return [DiagramProblem(go_live, "the go-live task cannot be multi-instance or inside one")]
            body = graph.scopes.get(scope)
            scope = graph.parent.get(scope, body.parent if body else None)
    return []
