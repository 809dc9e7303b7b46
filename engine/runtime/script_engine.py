"""The script engine every workflow runs with: our safe condition grammar, no scripts, and the clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine.clock import Clock, SystemClock
from engine.errors import EngineError
from engine.expressions import evaluate_condition, parse_expression


class SafeScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Evaluates conditions with engine.expressions; never evaluates or executes Python.

    It also carries the clock: SpiffWorkflow hands every task its workflow's script engine, so this is
    where our timer definitions ask for the time (`now()`)."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(environment=None)
        self.clock: Clock = clock or SystemClock()

    def now(self) -> datetime:
        return self.clock.now()

    def validate(self, expression: str) -> None:
        parse_expression(expression)

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        return evaluate_condition(parse_expression(expression), task.data)

    def execute(self, task: Any, script: str, external_context: Any = None) -> Any:
        raise EngineError(f"{task.task_spec.bpmn_id}: scripts are not allowed")

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise EngineError(f"{task.task_spec.bpmn_id}: service calls are not allowed")


SCRIPT_ENGINE = SafeScriptEngine()
