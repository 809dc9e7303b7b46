"""Incidents: outbox messages that could not be delivered after every attempt, and retrying them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.authorization import in_threadpool
from api.openapi import CONFLICT_RESPONSE
from api.pagination import PagingDep, page_of
from api.routes.deps import AdminDep, SignedInDep
from api.schemas import IncidentPageRead, OutboxMessageRead
from api.security import EngineDep

router = APIRouter(tags=["incidents"])

MessageId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The outbox message id.")]


@router.get(
    "/launches/{launch_id}/incidents",
    response_model=IncidentPageRead,
    summary="The launch's messages that could not be delivered (incidents)",
)
@in_threadpool
def list_incidents(
    launch_id: str, caller: SignedInDep, engine: EngineDep, paging: PagingDep
) -> IncidentPageRead:
    incidents = engine.list_incidents(launch_id=launch_id, actor=caller.actor)
    return IncidentPageRead.model_validate(page_of(incidents, paging))


@router.post(
    "/outbox/{message_id}/retry",
    response_model=OutboxMessageRead,
    summary="Deliver a message again from its first attempt (admins); 409 when already delivered",
    responses=CONFLICT_RESPONSE,
)
@in_threadpool
def retry_message(message_id: MessageId, caller: AdminDep, engine: EngineDep) -> OutboxMessageRead:
    return OutboxMessageRead.model_validate(engine.retry_message(message_id=message_id, actor=caller.actor))
