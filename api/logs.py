"""One logging configuration for `launchgate serve`, `worker` and the other commands: text lines by default,
JSON objects with LAUNCHGATE_LOG_FORMAT=json (python-json-logger). Every line names the request, launch
and task it is about when there is one (request_id=…, launch_id=…, task_id=…; engine/logcontext.py), and
the access log (logger launchgate.access: method, path, status, duration, client) is written in the same
format by api/observe.py, with the request id the response carries in X-Request-ID. Uvicorn's own lines go
to the same handler; its access log is off (ours replaces it)."""

from __future__ import annotations

import logging
import logging.config
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from engine import log_ids

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s"
_IDS = ("request_id", "launch_id", "task_id")


class ContextFilter(logging.Filter):
    """Adds the ids of the current context (request_id, launch_id, task_id) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in log_ids().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class TextFormatter(logging.Formatter):
    """`2030-03-04 09:00:00,123 INFO api.app: message request_id=… launch_id=…` (a traceback follows)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        present = [f"{name}={value}" for name in _IDS if (value := getattr(record, name, None))]
        return " ".join([super().formatMessage(record), *present])


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a test runner may replace it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def logging_config(level: str = "info", fmt: str = "text") -> dict[str, Any]:
    """The dictConfig of every Launch Gate process (uvicorn takes it as log_config)."""
    formatter: dict[str, Any] = (
        {
            "()": JsonFormatter,
            "fmt": JSON_FIELDS,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if fmt == "json"
        else {"()": TextFormatter, "fmt": TEXT_FORMAT}
    )
    handler = {"()": StderrHandler, "formatter": "default", "filters": ["context"]}
    upper = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "root": {"handlers": ["default"], "level": upper},
        "loggers": {
            "uvicorn": {"handlers": [], "level": upper, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": upper, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": True},
        },
    }


def configure_logging(level: str = "info", fmt: str = "text") -> None:
    logging.config.dictConfig(logging_config(level, fmt))
