"""THE SpiffWorkflow adapter: build specs, start, complete user tasks, run engine steps, report status.

No I/O here. SpiffWorkflow objects never leave this module (and engine.serialization): callers get plain
ids, names and dicts.

Two things SpiffWorkflow does by default that we change:
- conditions go through `SafeScriptEngine`, which evaluates our small grammar and refuses to run scripts;
- the task tree is compacted after every step (completed single-child links are spliced out), so a rework
  loop costs the same at round 1000 as at round 10 and never reaches the iterator's depth limit of 1000;
- timer events take "now" from the engine's clock, not from `datetime.now()`: SpiffWorkflow's timer
  definitions are swapped for `ClockedDurationTimer` / `ClockedDateTimer` when a spec is built, and those
  ask the workflow's script engine (`SafeScriptEngine.now()`, which carries the clock) for the time.

The package: `workflow.py` (RunningWorkflow, the one object callers hold), `spec.py` (build a spec),
`script_engine.py` (the safe script engine), `timers.py` (clocked timers and the timer check),
`budget.py` (the step budget of one command), `subworkflows.py` (sub-processes and call activities:
the walk over every workflow of a launch, call data mapping), `multi_instance.py` (multi-instance tasks
and sub-processes: instances, completion condition, progress).
"""

from engine.runtime.budget import MAX_COMMAND_CPU_SECONDS, MAX_ENGINE_STEPS, MAX_TREE_DEPTH, StepBudget
from engine.runtime.multi_instance import COUNT_NAMES, INSTANCE_KEY, InstancePlan, InstanceProgress
from engine.runtime.script_engine import SafeScriptEngine
from engine.runtime.spec import SpecBundle, build_spec
from engine.runtime.subworkflows import CallMapping
from engine.runtime.timers import ClockedDateTimer, ClockedDurationTimer, timer_literal, timer_problem
from engine.runtime.workflow import START_DOCUMENT, AutomatedStep, Incident, ReadyTask, RunningWorkflow

__all__ = [
    "COUNT_NAMES",
    "INSTANCE_KEY",
    "MAX_COMMAND_CPU_SECONDS",
    "MAX_ENGINE_STEPS",
    "MAX_TREE_DEPTH",
    "START_DOCUMENT",
    "AutomatedStep",
    "CallMapping",
    "ClockedDateTimer",
    "ClockedDurationTimer",
    "Incident",
    "InstancePlan",
    "InstanceProgress",
    "ReadyTask",
    "RunningWorkflow",
    "SafeScriptEngine",
    "SpecBundle",
    "StepBudget",
    "build_spec",
    "timer_literal",
    "timer_problem",
]
