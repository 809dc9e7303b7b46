"""Keep /openapi.json honest about errors: every JSON API route documents the errors it can answer with,
all in the one problem shape (ProblemRead) and media type (application/problem+json) that api.errors sends.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.schemas import ProblemRead

PROBLEM_MEDIA_TYPE = "application/problem+json"

# Added to every route under /api/v1 (api.app includes the routers with these).
API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ProblemRead, "description": "Not signed in (no, unknown or revoked credentials)"},
    403: {"model": ProblemRead, "description": "Signed in, but not allowed (role, assignee, CSRF)"},
    404: {"model": ProblemRead, "description": "Not found (or not visible to you)"},
    409: {"model": ProblemRead, "description": "Conflict: not ready, lost a race, or go-live blocked"},
    422: {"model": ProblemRead, "description": "Invalid data, with the field errors and their location"},
}

PRECONDITION_FAILED_RESPONSE: dict[int | str, dict[str, Any]] = {
    412: {
        "model": ProblemRead,
        "description": "If-Match named another version of the launch: it changed since (nothing was done)",
        "headers": {"ETag": {"description": "The launch's current ETag", "schema": {"type": "string"}}},
    }
}
ETAG_HEADER = {"ETag": {"description": "The launch's version as an entity tag", "schema": {"type": "string"}}}

RATE_LIMITED_RESPONSE: dict[int | str, dict[str, Any]] = {
    429: {
        "model": ProblemRead,
        "description": "Too many failed sign-ins; try again after Retry-After seconds",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    }
}


def install_problem_openapi(app: FastAPI) -> None:
    """Post-process FastAPI's generated document: 4xx responses carry ProblemRead as
    application/problem+json (FastAPI would say application/json, and its own HTTPValidationError for 422)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _problems_everywhere(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problems_everywhere(document: dict[str, Any]) -> dict[str, Any]:
    problem = {"schema": {"$ref": "#/components/schemas/ProblemRead"}}
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation:  # Starlette answers 400 when it cannot even decode the body
                operation["responses"].setdefault(
                    "400", {"description": "Malformed request: the body could not be parsed"}
                )
            for code, response in operation.get("responses", {}).items():
                if str(code).isdigit() and 400 <= int(code) < 500:
                    response["content"] = {PROBLEM_MEDIA_TYPE: problem}
    schemas = document.get("components", {}).get("schemas", {})
    if "HTTPValidationError" not in str(document.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return document
