"""The form files of the multi-instance fixtures (tests/fixtures/bpmn/regional_review.bpmn, ...)."""

from __future__ import annotations

import json

_TEXT = {"type": "string", "maxLength": 200}

PROPOSAL = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Proposal",
    "type": "object",
    "properties": {
        "summary": {**_TEXT, "title": "Summary"},
        "regions": {
            "type": "array",
            "title": "Regions that sign off",
            "items": {**_TEXT, "minLength": 1},
            "maxItems": 20,
        },
    },
    "required": ["regions"],
}
REVIEW = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Regional review",
    "type": "object",
    "properties": {
        "decision": {"type": "string", "title": "Decision", "enum": ["approve", "reject"]},
        "comment": {**_TEXT, "title": "Comment", "default": ""},
    },
    "required": ["decision"],
}


def form_files() -> dict[str, bytes]:
    return {
        "proposal-schema.json": json.dumps(PROPOSAL).encode(),
        "review-schema.json": json.dumps(REVIEW).encode(),
    }
