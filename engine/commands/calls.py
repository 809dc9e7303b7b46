"""Call activities at deploy: the processes a diagram calls from outside itself are resolved — another
diagram of the same package, else the newest deployed version — and pinned into the calling version
(`process_version.calls`: {process id: version id}), so a later deploy of a called process never changes
what running (or later) launches of the calling version run. A called version's own pins come along:
a launch's spec holds every process it may reach."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from engine.db import repository as repo
from engine.errors import DiagramRejectedError
from engine.specs.bpmn_xml import BPMN_NS, NS
from engine.xml_safety import parse_xml_document

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass
class Resolved:
    """The called processes' diagrams (what loading needs) and their pins (None: a diagram of the package
    being deployed, pinned to the version this deploy stores)."""

    called: dict[str, bytes] = field(default_factory=dict)
    pins: dict[str, int | None] = field(default_factory=dict)


def defined_processes(xml: bytes) -> set[str]:
    """The ids of the processes a diagram defines (empty for a document that does not parse)."""
    try:
        root = parse_xml_document(xml)
    except DiagramRejectedError:
        return set()
    return {p.get("id") or "" for p in root.iterfind("bpmn:process", NS)}


def _outside_calls(root: etree._Element) -> set[str]:
    here = {p.get("id") for p in root.iterfind("bpmn:process", NS)}
    called = {(c.get("calledElement") or "").strip() for c in root.iter(f"{{{BPMN_NS}}}callActivity")}
    return {c for c in called if c and c not in here}


def resolve_calls(session: Session, xml: bytes, package: Mapping[str, bytes]) -> Resolved:
    """What `xml` calls from outside itself (transitively): from `package` (process id -> the diagram of
    the package that defines it) or deployed. Unknown ones are left out: loading names the call."""
    found = Resolved()
    try:
        pending = sorted(_outside_calls(parse_xml_document(xml)))
    except DiagramRejectedError:
        return found
    while pending:
        process_id = pending.pop()
        if process_id in found.called:
            continue
        if process_id in package:
            found.called[process_id], found.pins[process_id] = package[process_id], None
            pending.extend(_outside_calls(parse_xml_document(package[process_id])))
            continue
        record = repo.latest_process_version(session, process_id)
        if record is None:
            continue
        found.called[process_id], found.pins[process_id] = record.bpmn_xml.encode("utf-8"), record.id
        for inner_id, inner_version in pinned_calls(record.calls).items():
            inner = repo.process_version(session, inner_version)
            if inner is not None and inner_id not in found.called:
                found.called[inner_id], found.pins[inner_id] = inner.bpmn_xml.encode("utf-8"), inner.id
    return found


def pinned_calls(stored: str | None) -> dict[str, int]:
    """A version's `calls` column read back."""
    if not stored:
        return {}
    value = json.loads(stored)
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}


def dump_pins(pins: Mapping[str, int]) -> str | None:
    return json.dumps(dict(sorted(pins.items())), separators=(",", ":")) if pins else None


def pinned_identity(identity: str, calls: str | None) -> str:
    """A version's content hash: its diagram and forms, and the versions it calls (the same diagram calling
    a newer version of a process is a new version)."""
    if not calls:
        return identity
    return hashlib.sha256(f"{identity}\n{calls}".encode()).hexdigest()


def called_diagrams(session: Session, calls: str | None) -> dict[str, bytes]:
    """The diagrams of a stored version's pinned called versions, by process id."""
    found: dict[str, bytes] = {}
    for process_id, version_id in pinned_calls(calls).items():
        record = repo.process_version(session, version_id)
        if record is not None:
            found[process_id] = record.bpmn_xml.encode("utf-8")
    return found


def called_part(session: Session, calls: str | None, process_id: str) -> str | None:
    """The diagram of the pinned called version that defines `process_id`, among a stored version's
    pinned calls and theirs (a called process may call others); None when it calls no such process."""
    pending, seen = [pinned_calls(calls)], set()
    while pending:
        for called_id, version_id in pending.pop().items():
            if version_id in seen:
                continue
            seen.add(version_id)
            record = repo.process_version(session, version_id)
            if record is None:
                continue
            if called_id == process_id:
                return record.bpmn_xml
            pending.append(pinned_calls(record.calls))
    return None


def package_processes(diagrams: Iterable[bytes]) -> dict[str, bytes]:
    """Process id -> the diagram of a package that defines it."""
    return {pid: xml for xml in diagrams for pid in defined_processes(xml)}
