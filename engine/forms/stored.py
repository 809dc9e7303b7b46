"""The forms of a process version as stored beside its diagram (process_version.forms).

``{"files": {name: text}, "bindings": {element id: {"schema": name, "ui": name or null}},
"start_event": id}``: the form files
the version's elements use and the binding of each element to its files, so loading a version needs nothing
but its row. Deploy writes it from the package; migration 0008 wrote it for versions deployed before forms
were files (their task ids bound to the shipped forms).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.errors import DiagramRejectedError, WorkflowStuckError
from engine.forms.diagram import form_refs_in
from engine.forms.package import FormRef, FormSet, files_hash, load_forms


def version_hash(xml: bytes, files: Mapping[str, bytes]) -> str:
    """The identity of a process version: the diagram's hash, combined with the form files it names when it
    names any (so changing only a form deploys a new version). A diagram that names no form files (every
    version deployed before forms were files) keeps its plain content hash."""
    diagram = hashlib.sha256(xml).hexdigest()
    named = {n for r in form_refs_in(xml) for n in (r.schema_file, r.ui_file) if n is not None}
    if not named:
        return diagram
    used = {name: data for name, data in files.items() if name in named}
    return hashlib.sha256(f"{diagram}:{files_hash(used)}".encode()).hexdigest()


def dump_forms(files: Mapping[str, bytes], refs: Iterable[FormRef], *, start_event: str | None = None) -> str:
    """The stored text of a version's forms: only the files its elements name."""
    bindings: dict[str, dict[str, str | None]] = {}
    used: dict[str, str] = {}
    for ref in refs:
        bindings[ref.element_id] = {"schema": ref.schema_file, "ui": ref.ui_file}
        for name in (ref.schema_file, ref.ui_file):
            if name is not None and name in files:
                used[name] = files[name].decode("utf-8-sig")
    stored = {"files": used, "bindings": bindings, "start_event": start_event}
    return json.dumps(stored, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class StoredFile:
    name: str
    body: bytes


def stored_form_files(text: str | None) -> list[StoredFile]:
    """The form files of a stored version (empty when none or unreadable: load_stored_forms says why)."""
    try:
        stored: Any = json.loads(text) if text else {}
        return [StoredFile(str(n), str(b).encode("utf-8")) for n, b in dict(stored.get("files", {})).items()]
    except (ValueError, TypeError, AttributeError):
        return []


def load_stored_forms(text: str | None, *, version_id: int) -> FormSet:
    """The FormSet of a stored version. A version without stored forms (a database not migrated) or with
    forms that no longer check is an incident, never a silent fallback."""
    if text is None:
        raise WorkflowStuckError(
            f"process version {version_id} has no stored forms: run `launchgate db migrate`"
        )
    try:
        stored: Any = json.loads(text)
        files = {str(name): str(body).encode("utf-8") for name, body in stored["files"].items()}
        refs = [
            FormRef(str(element), str(names["schema"]), str(names["ui"]) if names.get("ui") else None)
            for element, names in stored["bindings"].items()
        ]
        start_event = stored.get("start_event")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WorkflowStuckError(
            f"the stored forms of process version {version_id} are unreadable: {exc}"
        ) from None
    try:
        return load_forms(files, refs, start_event=str(start_event) if start_event else None)
    except DiagramRejectedError as exc:  # the stored files no longer pass the check
        raise WorkflowStuckError(
            f"the stored forms of process version {version_id} do not pass the form check: {exc}"
        ) from exc
