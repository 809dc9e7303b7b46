"""Deploy a process version: validate the diagram, store it once per content hash, audit it; or a whole
process package, checked whole first and stored in ONE transaction (all of its diagrams or none)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from engine import audit, permissions
from engine.checking import CheckReport, check_package
from engine.commands.calls import (
    Resolved,
    defined_processes,
    dump_pins,
    package_processes,
    pinned_identity,
    resolve_calls,
)
from engine.commands.context import EngineContext
from engine.db import repository as repo
from engine.domain import Actor, ProcessVersionView
from engine.errors import DiagramProblem, DiagramRejectedError
from engine.forms import load_forms
from engine.forms.diagram import form_refs_in, start_event_of
from engine.forms.stored import dump_forms, version_hash
from engine.packages import PackageFile, ProcessPackage
from engine.specs import load_process
from engine.views import process_version_view
from engine.xml_safety import parse_xml_document

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.orm import Session


@dataclass(frozen=True)
class _Prepared:
    """A diagram and its form files, checked: what one process version stores."""

    process_id: str
    xml: str
    identity: str
    forms: str
    pins: Mapping[str, int | None] = field(default_factory=dict)  # engine.commands.calls


def _prepare(xml: bytes, files: Mapping[str, bytes] | None, resolved: Resolved | None = None) -> _Prepared:
    """Check a diagram (with the processes it calls: `resolved`) and the form files it names
    (DiagramRejectedError naming file and pointer)."""
    resolved = resolved or Resolved()
    loaded = load_process(xml, called=resolved.called)
    given = dict(files or {})
    refs = form_refs_in(xml)
    start_event = start_event_of(parse_xml_document(xml))
    start_errors = load_forms(given, refs, start_event=start_event).start_form_errors()
    if start_errors:
        raise DiagramRejectedError(start_errors)
    return _Prepared(
        process_id=loaded.model.process_id,
        xml=loaded.xml,
        identity=version_hash(loaded.xml.encode("utf-8"), given),  # the stored text, as loading checks it
        forms=dump_forms(given, refs, start_event=start_event),
        pins={pid: resolved.pins[pid] for pid in resolved.called},
    )


def _store(
    session: Session, prepared: _Prepared, *, actor: Actor, now: datetime, stored: Mapping[str, int]
) -> ProcessVersionView:
    """The version in the caller's transaction (or the existing one with the same content). `stored`:
    the versions this deploy stored so far, by process id (what a call to a diagram of the package pins)."""
    calls = dump_pins({pid: stored[pid] if vid is None else vid for pid, vid in prepared.pins.items()})
    identity = pinned_identity(prepared.identity, calls)
    existing = repo.process_version_by_hash(session, identity)
    if existing is not None:
        latest = repo.latest_process_version(session, existing.process_id)
        return process_version_view(existing, latest_id=latest.id if latest else None)
    latest = repo.latest_process_version(session, prepared.process_id)
    record = repo.add_process_version(
        session,
        process_id=prepared.process_id,
        version=(latest.version + 1) if latest else 1,
        content_hash=identity,
        bpmn_xml=prepared.xml,
        forms=prepared.forms,
        calls=calls,
        created_at=now,
        created_by=actor.username,
    )
    audit.append_event(
        session,
        actor=actor,
        action="process.deployed",
        at=now,
        detail={"process_id": record.process_id, "version": record.version, "hash": record.content_hash},
    )
    return process_version_view(record, latest_id=record.id)


def _store_all(ctx: EngineContext, prepared: list[_Prepared], *, actor: Actor) -> list[ProcessVersionView]:
    now = ctx.clock.now()
    ctx.hook("deploy_process")
    with ctx.db.write() as session:
        audit.lock_chain(session)  # serialises deploys across processes: version numbers never collide
        stored: dict[str, int] = {}
        views: dict[int, ProcessVersionView] = {}
        while len(views) < len(prepared):  # a called diagram of the package before its callers
            ready = [
                i
                for i, one in enumerate(prepared)
                if i not in views and all(v is not None or p in stored for p, v in one.pins.items())
            ]
            if not ready:
                raise DiagramRejectedError([DiagramProblem(None, "the package's diagrams call each other")])
            for i in ready:
                views[i] = _store(session, prepared[i], actor=actor, now=now, stored=stored)
                stored[prepared[i].process_id] = views[i].id
        return [views[i] for i in range(len(prepared))]


def deploy_process(
    ctx: EngineContext, *, xml: bytes, actor: Actor, files: Mapping[str, bytes] | None = None
) -> ProcessVersionView:
    """A new process version (or the existing one with the same content): the diagram and the form files
    it names (``files``: by the names the diagram uses), checked, stored together."""
    ctx.require(permissions.may_deploy_process(actor), actor, "process.deploy")
    with ctx.db.read() as session:
        resolved = resolve_calls(session, xml, {})
    return _store_all(ctx, [_prepare(xml, files, resolved)], actor=actor)[0]


def deploy_package(ctx: EngineContext, *, package: ProcessPackage, actor: Actor) -> list[ProcessVersionView]:
    """Check a package whole and deploy all of its diagrams in one transaction: nothing is stored when it
    has an error, or when storing any one of its diagrams fails."""
    ctx.require(permissions.may_deploy_process(actor), actor, "process.deploy")
    report, resolved = _checked(ctx, package)
    if not report.deployable:
        errors = report.errors or [DiagramProblem(None, "the package holds no diagram")]
        first = next((p for p in errors if p.element_id), errors[0])
        message = str(first) + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else "")
        raise DiagramRejectedError(errors, message=message, lines=report.lines())
    prepared = [_prepare(d.data, files_beside(d, package), resolved[d.name]) for d in package.diagrams]
    return _store_all(ctx, prepared, actor=actor)


def check_against_deployed(ctx: EngineContext, package: ProcessPackage) -> CheckReport:
    """The package's check as deploy makes it: calls to processes outside the package resolve against the
    deployed versions (reads only: nothing is stored)."""
    return _checked(ctx, package)[0]


def _checked(ctx: EngineContext, package: ProcessPackage) -> tuple[CheckReport, dict[str, Resolved]]:
    everything = package_processes(d.data for d in package.diagrams)
    with ctx.db.read() as session:
        resolved = {
            d.name: resolve_calls(
                session, d.data, {p: x for p, x in everything.items() if p not in defined_processes(d.data)}
            )
            for d in package.diagrams
        }
    return check_package(package, called={name: r.called for name, r in resolved.items()}), resolved


def files_beside(diagram: PackageFile, package: ProcessPackage) -> dict[str, bytes]:
    """The package's files by the names the diagram uses for them (relative to the diagram's folder)."""
    folder = PurePosixPath(diagram.name).parent
    found: dict[str, bytes] = {}
    for member in package.files:
        path = PurePosixPath(member.name)
        if folder == PurePosixPath(".") or folder in path.parents:
            found[path.relative_to(folder).as_posix()] = member.data
    return found
