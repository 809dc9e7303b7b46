"""Process versions: list; admins deploy a new version by uploading BPMN."""

from __future__ import annotations

from fastapi import APIRouter, UploadFile, status
from starlette.concurrency import run_in_threadpool

from api.authorization import in_threadpool
from api.errors import ApiError
from api.routes.deps import AdminDep, SignedInDep
from api.schemas import ProcessVersionRead
from api.security import EngineDep
from engine import MAX_DIAGRAM_BYTES

router = APIRouter(prefix="/processes", tags=["process versions"])


@router.get("", response_model=list[ProcessVersionRead], summary="Deployed process versions")
@in_threadpool
def list_versions(caller: SignedInDep, engine: EngineDep) -> list[ProcessVersionRead]:
    return [ProcessVersionRead.model_validate(v) for v in engine.list_process_versions(actor=caller.actor)]


@router.post(
    "",
    response_model=ProcessVersionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Deploy a new process version (admins). Validated exactly like `launchgate bpmn check`.",
    responses={400: {"description": "The diagram was rejected; each problem names its element"}, 413: {}},
)
async def deploy_version(file: UploadFile, caller: AdminDep, engine: EngineDep) -> ProcessVersionRead:
    data = await file.read(MAX_DIAGRAM_BYTES + 1)
    if len(data) > MAX_DIAGRAM_BYTES:
        raise ApiError(413, "too-large", f"the diagram is larger than {MAX_DIAGRAM_BYTES} bytes")
    if not data:
        raise ApiError(400, "empty", "the uploaded file is empty")
    view = await run_in_threadpool(engine.deploy_process, xml=data, actor=caller.actor)
    return ProcessVersionRead.model_validate(view)
