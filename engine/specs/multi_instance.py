"""Multi-instance elements read from a diagram into `InstancePlan`s (engine.runtime.multi_instance runs
them), with their problems.

A user task or sub-process (or call activity) is multi-instance when it holds
`<bpmn:multiInstanceLoopCharacteristics>` (`isSequential="true"`: one instance after the other). Its
instances are, exactly one of:

- `<bpmn:loopCardinality>3</bpmn:loopCardinality>`: a whole number from 1 to `MAX_INSTANCES`;
- a collection: a dotted name of a list in the launch data (e.g. `proposal.regions`), one instance per
  element (1 to `MAX_INSTANCES` elements, checked when it starts: an empty or longer list stops the
  command with an error), as the text of `<bpmn:loopDataInputRef>` or as the extension property
  `collection` (which bpmn-js imports without an unresolved-reference warning).

`<bpmn:completionCondition>` (optional, our safe grammar) may use the counts `completed`, `approved`,
`rejected` and `total`, e.g. `approved >= 2`; default: every instance completes. An instance is approved
when the element's `gate_pass_when` holds for it (without one, completing it approves). Each instance's
`document` is collected by instance label.
"""

from __future__ import annotations

from lxml import etree

from engine.bounds import MAX_INSTANCES
from engine.errors import ExpressionEvaluationError, UnsafeExpressionError
from engine.expressions import Expression, parse_expression
from engine.runtime import COUNT_NAMES, InstancePlan
from engine.specs.bpmn_xml import NS, local_name, properties
from engine.specs.findings import Findings

MULTI_INSTANCE_HOSTS = frozenset({"userTask", "manualTask", "task", "subProcess", "callActivity"})
_LOOP = "bpmn:multiInstanceLoopCharacteristics"
_EXAMPLE = "approved >= 2"


def multi_instance_plans(root: etree._Element, found: Findings) -> dict[str, InstancePlan]:
    """Every multi-instance element of the document by id, checked into `found`."""
    plans: dict[str, InstancePlan] = {}
    for loop in root.iter(f"{{{NS['bpmn']}}}multiInstanceLoopCharacteristics"):
        host = loop.getparent()
        if host is None:
            continue
        host_id = host.get("id") or ""
        if local_name(host.tag) not in MULTI_INSTANCE_HOSTS:
            found.problem(
                host_id, f"multi-instance is supported on {', '.join(sorted(MULTI_INSTANCE_HOSTS))}"
            )
            continue
        plan = _plan(host, loop, host_id, found)
        if plan is not None:
            plans[host_id] = plan
    return plans


def _plan(host: etree._Element, loop: etree._Element, host_id: str, found: Findings) -> InstancePlan | None:
    props = properties(host)
    cardinality = _cardinality(loop, host_id, found)
    reference = loop.find("bpmn:loopDataInputRef", NS)
    named = props.get("collection") or (reference.text if reference is not None else None)
    collection = _collection(named, host_id, found)
    if cardinality is None and loop.find("bpmn:loopCardinality", NS) is not None:
        return None  # its problem is reported
    if (cardinality is None) == (collection is None):
        found.problem(
            host_id,
            "a multi-instance needs exactly one of loopCardinality (a whole number) or the 'collection' "
            "property (a list in the launch data, like proposal.regions)",
        )
        return None
    plan = InstancePlan(
        bpmn_id=host_id,
        sequential=loop.get("isSequential") == "true",
        cardinality=cardinality,
        collection=collection,
        condition=_condition(loop, host_id, found),
        passes=_expression(props.get("gate_pass_when"), host_id, "gate_pass_when", found),
        document=props.get("document", host_id if local_name(host.tag) == "userTask" else None),
    )
    _check_reachable(plan, host_id, found)
    return plan


def _cardinality(loop: etree._Element, host_id: str, found: Findings) -> int | None:
    element = loop.find("bpmn:loopCardinality", NS)
    if element is None:
        return None
    text = (element.text or "").strip()
    if text.isdigit() and 1 <= int(text) <= MAX_INSTANCES:
        return int(text)
    found.problem(
        host_id, f"loopCardinality must be a whole number from 1 to {MAX_INSTANCES}, not {text[:40]!r}"
    )
    return None


def _collection(value: str | None, host_id: str, found: Findings) -> Expression | None:
    if value is None:
        return None
    parsed = _expression(value, host_id, "collection", found)
    if parsed is not None and parsed.names != frozenset({value.strip()}):
        found.problem(
            host_id, f"collection must name a list in the launch data, like proposal.regions, not {value!r}"
        )
        return None
    return parsed


def _condition(loop: etree._Element, host_id: str, found: Findings) -> Expression | None:
    element = loop.find("bpmn:completionCondition", NS)
    if element is None or not (element.text or "").strip():
        return None
    parsed = _expression(element.text, host_id, "completionCondition", found)
    if parsed is None:
        return None
    unknown = sorted(parsed.names - COUNT_NAMES)
    if unknown:
        found.problem(
            host_id,
            f"completionCondition reads {', '.join(unknown)}: it may use only the counts "
            f"{', '.join(sorted(COUNT_NAMES))} (e.g. {_EXAMPLE})",
        )
        return None
    return parsed


def _expression(source: str | None, host_id: str, what: str, found: Findings) -> Expression | None:
    if source is None or not source.strip():
        return None
    try:
        return parse_expression(source.strip())
    except UnsafeExpressionError as exc:
        found.problem(
            host_id, f"{what} {source.strip()[:80]!r} is not in the safe grammar: {exc} (e.g. {_EXAMPLE})"
        )
        return None


def _check_reachable(plan: InstancePlan, host_id: str, found: Findings) -> None:
    """With a known number of instances, the condition must be one that enough passing instances meet."""
    totals = [plan.cardinality] if plan.cardinality is not None else [1, MAX_INSTANCES]
    try:
        for total in totals:
            needed = plan.needed(total)  # 0 on a gate item: engine.gate refuses it (a bypass)
            if needed is None and plan.cardinality is not None:
                found.problem(host_id, f"completionCondition can never hold with {total} instance(s)")
                return
    except ExpressionEvaluationError as exc:  # e.g. it compares a count with a text
        found.problem(host_id, f"completionCondition cannot be evaluated on the counts: {exc.message}")
