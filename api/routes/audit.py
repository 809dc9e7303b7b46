"""The audit trail for auditors: filtered events, complete exports (CSV, JSON lines), verification."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response, StreamingResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from api.authorization import in_threadpool
from api.exports import EXPORT_COLUMNS, neutralise
from api.filters import ActionText, Filter, IdText, UserName
from api.pagination import PagingFields
from api.routes.deps import AuditorDep
from api.schemas import AuditEventPageRead, AuditVerifyRead
from api.security import EngineDep
from engine import Actor, AuditEventView, WorkflowEngine, build_bundle, format_utc

router = APIRouter(prefix="/audit", tags=["audit"])
BATCH = 1000


class _Filters(BaseModel):
    """Filters shared by the event list and the exports (query parameters)."""

    model_config = ConfigDict(extra="forbid")

    launch_id: Filter[IdText] = None
    actor: Filter[UserName] = None
    action: Filter[ActionText] = None
    since: Filter[AwareDatetime] = Field(default=None, description="ISO time with zone")
    until: Filter[AwareDatetime] = Field(default=None, description="ISO time with zone")

    @field_validator("since", "until", mode="before")
    @classmethod
    def _iso_only(cls, value: Any) -> Any:
        """Pydantic would also read a bare number as a Unix time; the schema promises an ISO date-time."""
        if isinstance(value, str) and value:  # empty: any time (api.filters)
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise ValueError("use an ISO 8601 time with zone, e.g. 2030-03-04T09:00:00Z") from None
        return value

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


def _events(
    engine: WorkflowEngine, actor: Actor, filters: _Filters, *, upto: int | None = None
) -> Iterator[AuditEventView]:
    after = 0
    while True:
        batch = engine.audit_events(
            actor=actor,
            launch_id=filters.launch_id,
            actor_name=filters.actor,
            action=filters.action,
            since=filters.since,
            until=filters.until,
            after_sequence=after,
            limit=BATCH,
        )
        for event in batch:
            if upto is not None and event.sequence > upto:
                return
            yield event
        if len(batch) < BATCH:
            return
        after = batch[-1].sequence


class _Page(PagingFields, _Filters):
    """The list's filters and paging. One query model: a model that forbids extra fields takes the whole
    query string, so paging parameters declared beside it would be refused as extra inputs."""


@router.get("/events", response_model=AuditEventPageRead, summary="Audit events, filtered, oldest first")
@in_threadpool
def list_events(
    caller: AuditorDep,
    engine: EngineDep,
    filters: Annotated[_Page, Query()],
) -> AuditEventPageRead:
    paging = filters.paging()
    page = engine.audit_page(
        actor=caller.actor,
        launch_id=filters.launch_id,
        actor_name=filters.actor,
        action=filters.action,
        since=filters.since,
        until=filters.until,
        offset=paging.offset,
        limit=paging.limit,
    )
    return AuditEventPageRead.model_validate(page)


def _start_export(engine: WorkflowEngine, caller: AuditorDep, filters: _Filters, fmt: str) -> int:
    """The export is itself audited; it covers everything up to and including that event."""
    return engine.record_event(
        actor=caller.actor, action="audit.exported", detail={"format": fmt, "filters": filters.as_dict()}
    )


@router.get(
    "/export.csv",
    summary="Export audit events as CSV (hash columns included; spreadsheet formulas neutralised)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
@in_threadpool
def export_csv(
    caller: AuditorDep, engine: EngineDep, filters: Annotated[_Filters, Query()]
) -> StreamingResponse:
    upto = _start_export(engine, caller, filters, "csv")

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        for event in _events(engine, caller.actor, filters, upto=upto):
            writer.writerow([neutralise(_cell(getattr(event, c))) for c in EXPORT_COLUMNS])
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return StreamingResponse(
        rows(), media_type="text/csv", headers={"Content-Disposition": 'attachment; filename="audit.csv"'}
    )


@router.get(
    "/export.jsonl",
    summary="Export audit events as JSON lines (one event per line, exactly as hashed)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}}},
)
@in_threadpool
def export_jsonl(
    caller: AuditorDep, engine: EngineDep, filters: Annotated[_Filters, Query()]
) -> StreamingResponse:
    upto = _start_export(engine, caller, filters, "jsonl")

    def lines() -> Iterator[str]:
        for event in _events(engine, caller.actor, filters, upto=upto):
            yield json.dumps({c: getattr(event, c) for c in EXPORT_COLUMNS}, ensure_ascii=False) + "\n"

    return StreamingResponse(
        lines(),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="audit.jsonl"'},
    )


_ZIP: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "The bundle (a zip file)"}
}


def _bundle(engine: WorkflowEngine, caller: AuditorDep, launch_id: str | None) -> Response:
    """Built from one snapshot first (an unknown launch is a 404 and leaves no trace), then audited."""
    data = build_bundle(engine.db, launch_id=launch_id, created_at=format_utc(engine.clock.now()))
    engine.record_event(
        actor=caller.actor, action="audit.bundle_exported", launch_id=launch_id, detail={"bytes": len(data)}
    )
    name = f"audit-bundle-{launch_id}.zip" if launch_id else "audit-bundle.zip"
    return Response(
        data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/launches/{launch_id}/bundle",
    summary="A launch's audit bundle: its events, diagram and forms, the newest signed checkpoint and the "
    "proof that the launch's chain is in it (verify offline: `launchgate audit verify-bundle`)",
    response_class=Response,
    responses=_ZIP,
)
@in_threadpool
def launch_bundle(
    caller: AuditorDep, engine: EngineDep, launch_id: Annotated[str, Path(max_length=36)]
) -> Response:
    return _bundle(engine, caller, launch_id)


@router.get(
    "/bundle",
    summary="The whole audit trail as a bundle, with the newest signed checkpoint and every chain head",
    response_class=Response,
    responses=_ZIP,
)
@in_threadpool
def full_bundle(caller: AuditorDep, engine: EngineDep) -> Response:
    return _bundle(engine, caller, None)


def _public_key() -> Any:
    from api.audit_settings import get_audit_settings

    return get_audit_settings().public()


@router.get("/verify", response_model=AuditVerifyRead, summary="Recompute every chain and checkpoint")
@in_threadpool
def verify(caller: AuditorDep, engine: EngineDep) -> AuditVerifyRead:
    result = engine.verify_audit(public_key=_public_key())
    return AuditVerifyRead(
        ok=result.ok,
        count=result.count,
        head_hash=result.head_hash,
        broken_sequence=result.broken_sequence,
        broken_launch=result.broken_launch,
        broken_position=result.broken_position,
        broken_checkpoint=result.broken_checkpoint,
        checkpoints=result.checkpoints,
        message=result.message or ("OK" if result.ok else "broken"),
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)
