"""Keep /openapi.json honest and pleasant for generated clients:

- operationIds: `<tag>-<verb>` from the route's tag and function name (`launches-start`, `tasks-complete`,
  `users-reset-password`), one rule for every route (`operation_id`, FastAPI's generate_unique_id_function);
- security: the bearer token and the session cookie are declared schemes (api.authorization), applied by
  FastAPI to every route that needs a caller;
- errors: each route lists the statuses it can answer with — 401/403 where it needs a caller, 404 where
  it names something by id, 422 where it takes input, and what it declares itself (409, 412, 413, 429…) —
  all in the one problem shape (ProblemRead, application/problem+json) that api.errors sends;
- names: FastAPI's `Body_<operation>` upload models get a readable title.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.schemas import ProblemRead

PROBLEM_MEDIA_TYPE = "application/problem+json"

# A tag's short id in operationIds (default: the tag itself).
_TAG_IDS = {"process versions": "processes", "sign-in": "auth"}

_CALLER_ERRORS: dict[str, dict[str, Any]] = {
    "401": {"description": "Not signed in (no, unknown or revoked credentials)"},
    "403": {"description": "Signed in, but not allowed (role, assignee, CSRF)"},
}
_NOT_FOUND = {"description": "Not found (or not visible to you)"}
_INVALID = {"description": "Invalid data, with the field errors and their location"}

CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: {"model": ProblemRead, "description": "Conflict: no longer applies, or lost a race"}
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


def operation_id(route: APIRoute) -> str:
    """`<tag>-<verb>`: the function name without the words of its tag (`list_launches` under `launches` is
    `launches-list`); a name that is nothing but those words is kept whole (`auth-sign-in`)."""
    tag = str(route.tags[0]) if route.tags else "launchgate"
    prefix = _TAG_IDS.get(tag, tag).replace(" ", "-")
    nouns = {
        w
        for word in f"{tag} {prefix}".split()
        for w in (word, word.removesuffix("s"), word.removesuffix("es"))
    }
    words = route.name.split("_")
    verb = [w for w in words if w not in nouns] or words
    return f"{prefix}-{'-'.join(verb)}"


def install_problem_openapi(app: FastAPI) -> None:
    """Post-process FastAPI's generated document (see the module's docstring)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _readable_names(_errors_per_route(generate()))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _errors_per_route(document: dict[str, Any]) -> dict[str, Any]:
    problem = {"schema": {"$ref": "#/components/schemas/ProblemRead"}}
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                for code, response in _CALLER_ERRORS.items():
                    responses.setdefault(code, dict(response))
            if "{" in path:
                responses.setdefault("404", dict(_NOT_FOUND))
            if "422" in responses:
                responses["422"] = {**_INVALID, **responses["422"], "description": _INVALID["description"]}
            if "requestBody" in operation:  # Starlette answers 400 when it cannot even decode the body
                responses.setdefault(
                    "400", {"description": "Malformed request: the body could not be parsed"}
                )
            for code, response in responses.items():
                if str(code).isdigit() and 400 <= int(code) < 500:
                    response["content"] = {PROBLEM_MEDIA_TYPE: problem}
    schemas = document.get("components", {}).get("schemas", {})
    if "HTTPValidationError" not in str(document.get("paths")):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
    return document


def _readable_names(document: dict[str, Any]) -> dict[str, Any]:
    """`Body_processes-deploy` → `ProcessesDeployUpload` (titles and references alike)."""
    schemas: dict[str, Any] = document.get("components", {}).get("schemas", {})
    renames = {
        name: "".join(part.capitalize() for part in re.split(r"[-_]", name.removeprefix("Body_"))) + "Upload"
        for name in schemas
        if name.startswith("Body_")
    }
    for old, new in renames.items():
        schema = schemas.pop(old)
        schema["title"] = new
        schemas[new] = schema
    if not renames:
        return document
    ref = "#/components/schemas/"
    replaced: dict[str, Any] = _replace_refs(document, {ref + o: ref + n for o, n in renames.items()})
    return replaced


def _replace_refs(node: Any, refs: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {k: (refs.get(v, v) if k == "$ref" else _replace_refs(v, refs)) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_refs(v, refs) for v in node]
    return node
