"""The engine's own forms: the launch settings a start may carry beside the process's start form, and the
start form of a process whose start event names none.

``support_distribution`` (where the launch notice is e-mailed) and ``due_overrides`` (business days per
task instead of the diagram's) are read by the engine itself, so every process accepts them; they are
validated by the same path as any form. That a ``due_overrides`` key is a user task of the process is
checked by the engine, which knows the process.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from engine.forms.rules import parse_rules
from engine.forms.validation import Form

SETTINGS_FIELDS: Final = frozenset({"support_distribution", "due_overrides"})

_SCHEMA: Final[dict[str, Any]] = {
    "title": "Launch settings",
    "type": "object",
    "properties": {
        "support_distribution": {
            "type": "array",
            "title": "Support distribution list",
            "description": "Where the launch notice is e-mailed (at most 50 addresses; none: the configured "
            "default list).",
            "items": {"type": "string", "format": "email", "minLength": 3, "maxLength": 254},
            "maxItems": 50,
        },
        "due_overrides": {
            "type": "object",
            "title": "Due dates",
            "description": "Business days (1-365) a task has once it is ready, by task id, instead of the "
            "diagram's default.",
            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 365},
            "propertyNames": {
                "pattern": "^[A-Za-z_][A-Za-z0-9_.-]{0,99}$",
                "x-messages": {"pattern": "a key must be a task id, like review_proposal"},
            },
            "maxProperties": 50,
        },
    },
    "x-rules": [
        {
            "for_each": "support_distribution",
            "type": "duplicate",
            "rule": "lower(row) not in lower(earlier)",
            "message": "'{row}' is listed more than once; entries must be unique",
        }
    ],
}

START_FIELDS: Final = ("product_name", "summary", "planned_launch_date")
"""What the engine itself reads from every start (the launch's name, summary and planned date): a
process's start form must ask for them."""


def start_form_problems(schema: Mapping[str, Any]) -> list[str]:
    """Why a start form's schema cannot start a launch: a field the engine reads is not asked for, or
    not required."""
    properties = schema.get("properties")
    asked = set(properties) if isinstance(properties, Mapping) else set()
    required = set(schema.get("required") or ())
    return [
        f"the launch start form must ask for '{name}' (every launch has a product name, summary and "
        "planned launch date)"
        if name not in asked
        else f"the launch start form must require '{name}'"
        for name in START_FIELDS
        if name not in asked or name not in required
    ]


LAUNCH_SETTINGS_FORM: Final = Form(name="launch settings", schema=_SCHEMA, rules=parse_rules(_SCHEMA)[0])
"""Validates the launch settings part of a start."""

_LINE: Final = "^[^\u0000-\u001f\u007f\u0085\u2028\u2029]*$"
_DEFAULT_START: Final[dict[str, Any]] = {
    "title": "Start a launch",
    "type": "object",
    "required": ["product_name", "summary", "planned_launch_date"],
    "properties": {
        "product_name": {
            "type": "string",
            "title": "Product name",
            "minLength": 1,
            "maxLength": 120,
            "pattern": _LINE,
        },
        "summary": {"type": "string", "title": "Summary", "minLength": 1, "maxLength": 280, "pattern": _LINE},
        "planned_launch_date": {
            "type": "string",
            "title": "Planned launch date",
            "format": "date",
            "formatMinimum": "2000-01-01",
            "formatMaximum": "2100-12-31",
        },
    },
    "x-rules": [
        {
            "rule": "planned_launch_date >= today",
            "field": "planned_launch_date",
            "type": "date_in_past",
            "message": "must not be in the past",
        }
    ],
}

DEFAULT_START_FORM: Final = Form(
    name="default start", schema=_DEFAULT_START, rules=parse_rules(_DEFAULT_START)[0]
)
"""The start form of a process whose start event names no form: what the engine reads from every start."""
