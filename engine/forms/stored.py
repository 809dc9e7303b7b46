"""The forms of a process version as stored beside its diagram (process_version.forms).

``{"files": {name: text}, "bindings": {element id: {"schema": name, "ui": name or null}}}``: the form files
the version's elements use and the binding of each element to its files, so loading a version needs nothing
but its row. Deploy writes it from the package; migration 0007 wrote it for versions deployed before forms
were files (their task ids bound to the shipped forms).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from engine.errors import DiagramRejectedError, WorkflowStuckError
from engine.forms.package import FormRef, FormSet, load_forms


def dump_forms(files: Mapping[str, bytes], refs: Iterable[FormRef]) -> str:
    """The stored text of a version's forms: only the files its elements name."""
    bindings: dict[str, dict[str, str | None]] = {}
    used: dict[str, str] = {}
    for ref in refs:
        bindings[ref.element_id] = {"schema": ref.schema_file, "ui": ref.ui_file}
        for name in (ref.schema_file, ref.ui_file):
            if name is not None and name in files:
                used[name] = files[name].decode("utf-8-sig")
    return json.dumps({"files": used, "bindings": bindings}, sort_keys=True, ensure_ascii=False)


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
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WorkflowStuckError(
            f"the stored forms of process version {version_id} are unreadable: {exc}"
        ) from None
    try:
        return load_forms(files, refs)
    except DiagramRejectedError as exc:  # the stored files no longer pass the check
        raise WorkflowStuckError(
            f"the stored forms of process version {version_id} do not pass the form check: {exc}"
        ) from exc
