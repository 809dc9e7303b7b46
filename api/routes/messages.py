"""Messages to a launch: an external system (or a person) tells a waiting launch that something happened."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from api.authorization import in_threadpool
from api.idempotency import IdempotencyKeyHeader, run_idempotent
from api.openapi import ETAG_HEADER
from api.routes.deps import AdminDep, MessageSenderDep
from api.schemas import LaunchRead, MessageSend, ProblemRead, SignalSentRead
from api.security import EngineDep
from engine import EngineError, ValidationFailedError

router = APIRouter(tags=["launches"])

MessageName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        description="The message name (the `name` of the BPMN <message> the launch's event waits for).",
    ),
]


@router.post(
    "/launches/{launch_id}/messages/{name}",
    response_model=LaunchRead,
    summary="Send a message to a launch (PMs, admins, their API tokens)",
    responses={
        200: {"description": "The launch after the message was taken", "headers": ETAG_HEADER},
        404: {"model": ProblemRead, "description": "No such launch"},
        409: {"model": ProblemRead, "description": "Nothing in the launch waits for this message"},
    },
)
@in_threadpool
def send_message(
    launch_id: str,
    name: MessageName,
    body: MessageSend,
    caller: MessageSenderDep,
    engine: EngineDep,
    request: Request,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    def send() -> LaunchRead:
        try:
            view = engine.send_message(
                launch_id=launch_id, name=name, payload=body.payload, actor=caller.actor
            )
        except ValidationFailedError as exc:
            raise _with_prefix(exc) from exc
        return LaunchRead.model_validate(view)

    def launch(found: str) -> LaunchRead:
        return LaunchRead.model_validate(engine.get_launch(launch_id=found, actor=caller.actor))

    return run_idempotent(
        request,
        engine,
        caller.actor,
        idempotency_key,
        body=body.model_dump(mode="json"),
        status_code=status.HTTP_200_OK,
        command=send,
        current=launch,
    )


@router.post(
    "/signals/{name}",
    response_model=SignalSentRead,
    summary="Broadcast a signal to every waiting launch (admins)",
)
@in_threadpool
def broadcast_signal(name: MessageName, caller: AdminDep, engine: EngineDep) -> SignalSentRead:
    reached = engine.broadcast_signal(name=name, actor=caller.actor)
    return SignalSentRead(signal=name, reached=reached)


def _with_prefix(exc: ValidationFailedError) -> EngineError:
    prefixed = [type(p)(("payload", *p.loc), p.message, p.type) for p in exc.problems]
    return ValidationFailedError(exc.message, prefixed)
