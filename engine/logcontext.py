"""What a log line is about: the request, the launch and the task being worked on, kept in context
variables so that every line logged meanwhile (in this thread or task, and in the threads it starts work
in) can name them. The engine sets the launch and the task while the worker delivers a message; the HTTP
layer sets the request id and the launch and task of the URL. Logging configuration reads them
(api/logs.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("launchgate_request_id", default=None)
launch_id: ContextVar[str | None] = ContextVar("launchgate_launch_id", default=None)
task_id: ContextVar[str | None] = ContextVar("launchgate_task_id", default=None)
_VARIABLES = {"request_id": request_id, "launch_id": launch_id, "task_id": task_id}


def current() -> dict[str, str]:
    """The ids that are set, by name."""
    return {name: value for name, var in _VARIABLES.items() if (value := var.get()) is not None}


@contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """Name these ids (request_id, launch_id, task_id; None: leave as it is) on the lines logged inside."""
    tokens = [(_VARIABLES[name], _VARIABLES[name].set(value)) for name, value in ids.items() if value]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(name: str, value: str) -> None:
    """Name this id on the rest of the current task's lines (for a task that ends with its work, such as
    one HTTP request; elsewhere use log_context)."""
    _VARIABLES[name].set(value)
