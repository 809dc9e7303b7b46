"""Process versions: list; admins deploy a new version by uploading BPMN."""

from __future__ import annotations

from fastapi import APIRouter, UploadFile, status
from starlette.concurrency import run_in_threadpool

from api.authorization import in_threadpool
from api.errors import ApiError
from api.pagination import PagingDep, page_of
from api.routes.deps import AdminDep, SignedInDep
from api.schemas import ProcessPageRead, ProcessVersionPageRead, ProcessVersionRead
from api.security import EngineDep
from engine import MAX_DIAGRAM_BYTES, MAX_PACKAGE_BYTES, read_upload

router = APIRouter(prefix="/processes", tags=["process versions"])


@router.get("", response_model=ProcessVersionPageRead, summary="Deployed process versions")
@in_threadpool
def list_versions(caller: SignedInDep, engine: EngineDep, paging: PagingDep) -> ProcessVersionPageRead:
    versions = engine.list_process_versions(actor=caller.actor)
    return ProcessVersionPageRead.model_validate(page_of(versions, paging))


@router.get(
    "/latest",
    response_model=ProcessPageRead,
    summary="The processes a launch can run: the newest version of each, with its description",
)
@in_threadpool
def list_latest(caller: SignedInDep, engine: EngineDep, paging: PagingDep) -> ProcessPageRead:
    return ProcessPageRead.model_validate(page_of(engine.list_processes(actor=caller.actor), paging))


@router.post(
    "",
    response_model=ProcessVersionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Deploy a process package (admins): a diagram, a .zip, or several files. Checked exactly like "
    "`launchgate bpmn check`.",
    responses={400: {"description": "The diagram was rejected; each problem names its element"}, 413: {}},
)
async def deploy_version(file: list[UploadFile], caller: AdminDep, engine: EngineDep) -> ProcessVersionRead:
    """One diagram, a .zip package, or a package's files side by side (the field repeated)."""
    files = await read_uploads(file)
    views = await run_in_threadpool(engine.deploy_package, package=read_upload(files), actor=caller.actor)
    return ProcessVersionRead.model_validate(views[0])


async def read_uploads(uploads: list[UploadFile]) -> list[tuple[str, bytes]]:
    """The uploaded files, read with their caps (413 past them, 400 when empty)."""
    files: list[tuple[str, bytes]] = []
    total = 0
    for upload in uploads:
        data = await upload.read(MAX_PACKAGE_BYTES + 1)
        total += len(data)
        name = upload.filename or "diagram.bpmn"
        if total > MAX_PACKAGE_BYTES:
            raise ApiError(413, "too-large", f"the upload is larger than {MAX_PACKAGE_BYTES} bytes")
        if len(data) > MAX_DIAGRAM_BYTES and not (name.lower().endswith(".zip") or data.startswith(b"PK")):
            raise ApiError(413, "too-large", f"the diagram is larger than {MAX_DIAGRAM_BYTES} bytes")
        files.append((name, data))
    if not any(data for _, data in files):
        raise ApiError(400, "empty", "the uploaded file is empty")
    return files
