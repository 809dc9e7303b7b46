"""The step budget of one command."""

from __future__ import annotations

import logging
import time
from typing import Any

from engine.errors import StepBudgetExceededError

logger = logging.getLogger(__name__)

# Compaction keeps the tree shallow; this is a tripwire far below SpiffWorkflow's iterator limit (1000).
MAX_TREE_DEPTH = 400
# The step budget of one command (see StepBudget).
MAX_ENGINE_STEPS = 10_000
MAX_COMMAND_CPU_SECONDS = 2.0


class StepBudget:
    """What one command may spend on engine steps (gateways, events): `MAX_ENGINE_STEPS` steps or
    `MAX_COMMAND_CPU_SECONDS` of this thread's CPU time. Past it the command stops with
    StepBudgetExceededError; the caller writes nothing (the workflow in memory is thrown away) and audits
    the refusal. Diagrams are checked at deploy so that this never trips; it is the last line."""

    def __init__(self, launch_id: str | None) -> None:
        self.launch_id = launch_id
        self.steps = 0
        self.started = time.thread_time()

    def spend(self, task: Any) -> None:
        self.steps += 1
        spent = self._overspent(task)
        if spent is not None:
            message = (
                f"the workflow used more than {spent} in one command without reaching a wait state "
                f"(last at {task.task_spec.bpmn_id}); it was stopped and nothing was stored"
            )
            logger.error("launch %s: %s", self.launch_id, message)
            raise StepBudgetExceededError(message)

    def _overspent(self, task: Any) -> str | None:
        if self.steps > MAX_ENGINE_STEPS:
            return f"{MAX_ENGINE_STEPS} engine steps"
        # A chain of engine steps deepens the task tree by one each; SpiffWorkflow walks the tree
        # recursively and quietly stops near Python's recursion limit, long before MAX_ENGINE_STEPS.
        if task.depth > MAX_TREE_DEPTH:
            return f"{MAX_TREE_DEPTH} engine steps in a row"
        if self.steps % 100 == 0 and self._cpu() > MAX_COMMAND_CPU_SECONDS:
            return f"{MAX_COMMAND_CPU_SECONDS} s of CPU"
        return None

    def _cpu(self) -> float:
        return time.thread_time() - self.started
