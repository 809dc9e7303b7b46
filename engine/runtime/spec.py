"""Build the SpiffWorkflow specs of a checked diagram: the process's spec plus the specs of its
sub-processes and of the processes its call activities call (a `SpecBundle`, opaque outside the engine's
adapter)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.parser.event_parsers import (
    CANCEL_EVENT_XPATH,
    CONDITIONAL_EVENT_XPATH,
    ERROR_EVENT_XPATH,
    ESCALATION_EVENT_XPATH,
    MESSAGE_EVENT_XPATH,
    SIGNAL_EVENT_XPATH,
    TERMINATION_EVENT_XPATH,
    TIMER_EVENT_XPATH,
    EndEventParser,
    StartEventParser,
)
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.specs.defaults import EndEvent, ServiceTask, StartEvent

from engine.runtime.boundaries import keep_side_paths
from engine.runtime.data_stores import without_inert_data
from engine.runtime.events import attach_throw_properties
from engine.runtime.multi_instance import InstancePlan, apply_plans
from engine.runtime.subworkflows import CallMapping, apply_call_mappings
from engine.runtime.timers import clock_timers
from engine.runtime.triggers import has_triggers

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_LOOP = f"{{{_BPMN}}}multiInstanceLoopCharacteristics"
_CARDINALITY = f"{{{_BPMN}}}loopCardinality"
_INPUT = f"{{{_BPMN}}}loopDataInputRef"


class ConnectorServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task bound to a built-in connector. It runs nothing here (never code, never
    `call_service`): it completes at once, and the command that ran this engine step queues the
    connector's outbox message in the same transaction (engine.commands.connectors)."""

    def _run_hook(self, my_task: Any) -> bool:
        return True


class _EndEventParser(EndEventParser):  # type: ignore[misc]
    """An end event with every definition we run. SpiffWorkflow 3.2's own parser does not look for a
    signal definition on an end event, so a signal end event would end quietly as a none end event and
    its signal reach nobody (tests/fixtures/corpus/signal_end.bpmn, boundary_signal.bpmn)."""

    def create_task(self) -> Any:
        kinds = (
            MESSAGE_EVENT_XPATH,
            SIGNAL_EVENT_XPATH,
            CANCEL_EVENT_XPATH,
            ERROR_EVENT_XPATH,
            ESCALATION_EVENT_XPATH,
            TERMINATION_EVENT_XPATH,
        )
        task = self._create_task(self.get_event_definition(list(kinds)))
        task.connect(self.spec.end)
        return task


class _StartEventParser(StartEventParser):  # type: ignore[misc]
    """A start event with every definition we run. SpiffWorkflow 3.2's own parser reads no error or
    escalation definition on a start event, so the error-start event sub-process of a process was parsed
    with a none start and ran as soon as its process started (tests/fixtures/corpus/
    event_subprocess_error.bpmn); with the definition it waits until the error is thrown."""

    def create_task(self) -> Any:
        kinds = (
            MESSAGE_EVENT_XPATH,
            SIGNAL_EVENT_XPATH,
            TIMER_EVENT_XPATH,
            CONDITIONAL_EVENT_XPATH,
            ERROR_EVENT_XPATH,
            ESCALATION_EVENT_XPATH,
        )
        task = self._create_task(self.get_event_definition(list(kinds)))
        self.spec.start.connect(task)
        return task


class _Parser(BpmnParser):  # type: ignore[misc]
    OVERRIDE_PARSER_CLASSES = {
        full_tag("serviceTask"): (TaskParser, ConnectorServiceTask),
        full_tag("startEvent"): (_StartEventParser, StartEvent),
        full_tag("endEvent"): (_EndEventParser, EndEvent),
    }


@dataclass(frozen=True)
class SpecBundle:
    """The spec a launch runs: the top process and every workflow spec it may start inside (embedded
    sub-processes by their element id, called processes by their process id)."""

    top: Any
    subprocesses: Mapping[str, Any] = field(default_factory=dict)
    triggers: bool = False  # an event sub-process starts on a message, signal, error or escalation

    @property
    def name(self) -> str:
        return str(self.top.name)

    def for_one_workflow(self) -> SpecBundle:
        """The bundle one workflow may run on: itself, or its own copy when starting an event
        sub-process would change the specs (engine.runtime.triggers)."""
        return copy.deepcopy(self) if self.triggers else self


def build_spec(
    root: etree._Element,
    process_id: str,
    *,
    plans: Mapping[str, InstancePlan] | None = None,
    calls: Mapping[str, CallMapping] | None = None,
    called: Sequence[etree._Element] = (),
) -> SpecBundle:
    """Build the specs from an already hardened and validated document (and the documents of the
    processes it calls, `called`): timer definitions are swapped for the clocked ones, multi-instance
    elements run by their `plans` and call activities copy data by their `calls` (both by BPMN id)."""
    parser = _Parser()
    parser.add_bpmn_xml(_for_spiff(root, plans or {}), filename=f"{process_id}.bpmn")
    for index, other in enumerate(called):
        parser.add_bpmn_xml(_for_spiff(other, plans or {}), filename=f"called-{index}.bpmn")
    top = parser.get_spec(process_id)
    subprocesses = parser.get_subprocess_specs(process_id)
    every = {process_id: top, **subprocesses}
    for spec in every.values():
        clock_timers(spec)
        keep_side_paths(spec)
    attach_throw_properties(every.values(), root)
    apply_plans(every, plans or {})
    apply_call_mappings(every, calls or {})
    return SpecBundle(top=top, subprocesses=subprocesses, triggers=has_triggers(every.values()))


def _for_spiff(root: etree._Element, plans: Mapping[str, InstancePlan]) -> etree._Element:
    """The document as SpiffWorkflow's parser takes it: it wants a cardinality or an input reference on
    every multi-instance, and ours may name a collection instead (our class reads the plan, not this);
    and it has no data stores or data associations (engine.runtime.data_stores)."""
    root = without_inert_data(root)
    if not any(_bare(loop) for loop in root.iter(_LOOP)):
        return root
    copied = copy.deepcopy(root)
    for loop in copied.iter(_LOOP):
        if _bare(loop):
            placeholder = etree.Element(_CARDINALITY)
            placeholder.text = "1"
            loop.insert(0, placeholder)
    return copied


def _bare(loop: etree._Element) -> bool:
    return loop.find(_CARDINALITY) is None and loop.find(_INPUT) is None
