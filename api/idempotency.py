"""`Idempotency-Key` on command routes (POST /launches, task completion): a retry with the same key (same
user, same route) gets the first answer — status and body — without the command running again; the same
key with another body is refused (409). The rules and the storage are engine.idempotency's."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from api.errors import engine_error_response, launch_etag
from engine import Actor, EngineError, IdempotentReplay, WorkflowEngine

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Any unique string per intended command (a UUID): a retry with the same key returns "
        "the first answer without doing it again (header `Idempotent-Replayed: true`). Optional.",
    ),
]
REPLAYED_HEADER = "Idempotent-Replayed"


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def run_idempotent(
    request: Request,
    engine: WorkflowEngine,
    actor: Actor,
    key: str | None,
    *,
    body: Any,
    status_code: int,
    command: Callable[[], BaseModel],
    current: Callable[[str], BaseModel],
) -> Response:
    """Run `command` (its answer: `status_code` with the model), once per key. `current(launch_id)`: the
    answer when the first request committed but died before its answer was stored."""
    ttl = timedelta(hours=request.app.state.settings.idempotency_ttl_hours)
    if key is None:
        return _answer(status_code, command())
    begun = engine.idempotency_begin(
        actor=actor,
        route=_route_key(request),
        key=key,
        fingerprint=fingerprint(body),
        ttl=ttl,
    )
    if isinstance(begun, IdempotentReplay):
        return _replay(begun, status_code, current)
    try:
        with engine.idempotency_pending(begun):
            response = _answer(status_code, command())
    except EngineError as exc:
        response = engine_error_response(exc)
    except BaseException:
        engine.idempotency_abandon(begun)
        raise
    engine.idempotency_finish(begun, status_code=response.status_code, body=bytes(response.body).decode())
    return response


def _answer(status_code: int, model: BaseModel) -> JSONResponse:
    content = model.model_dump(mode="json")
    headers = {"ETag": launch_etag(content["version"])} if isinstance(content.get("version"), int) else {}
    return JSONResponse(content, status_code=status_code, headers=headers)


def _replay(found: IdempotentReplay, status_code: int, current: Callable[[str], BaseModel]) -> Response:
    if found.body is None or found.status_code is None:
        assert found.launch_id is not None  # committed without a stored answer
        response: Response = _answer(status_code, current(found.launch_id))
    else:
        media = "application/json" if found.status_code < 400 else "application/problem+json"
        response = Response(found.body, status_code=found.status_code, media_type=media)
        version = json.loads(found.body).get("version") if found.status_code < 400 else None
        if isinstance(version, int):
            response.headers["ETag"] = launch_etag(version)
    response.headers[REPLAYED_HEADER] = "true"
    return response


ROUTE_KEY_LENGTH = 200  # the idempotency_key.route column


def _route_key(request: Request) -> str:
    """The route a key belongs to: method and path, or, for a path too long to store (a message name
    may be 200 characters), method and the path's SHA-256."""
    route = f"{request.method} {request.url.path}"
    if len(route) <= ROUTE_KEY_LENGTH:
        return route
    return f"{request.method} sha256:{hashlib.sha256(request.url.path.encode()).hexdigest()}"
