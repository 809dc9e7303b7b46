"""A process package's forms: which element uses which files, checking them at deploy, loading them.

A user task (or the start event) names its form the way spiff-arena process models do::

    <spiffworkflow:properties>
      <spiffworkflow:property name="formJsonSchemaFilename" value="open_beta-schema.json" />
      <spiffworkflow:property name="formUiSchemaFilename" value="open_beta-uischema.json" />
    </spiffworkflow:properties>

The file names are names of files in the package (beside the diagram). An element without a form gets
PLAIN_FORM: an optional comment. Problems name the file and the JSON pointer inside it
(file ``open_beta-schema.json``, element ``#/properties/beta_url/pattern``), or the element whose
reference is wrong.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from engine.errors import DiagramProblem, DiagramRejectedError
from engine.forms import limits
from engine.forms.launch_settings import start_form_problems
from engine.forms.rules import parse_rules
from engine.forms.subset import SchemaProblem, check_schema
from engine.forms.uischema import check_ui_schema
from engine.forms.validation import Form

SCHEMA_PROPERTY: Final = "formJsonSchemaFilename"
UI_SCHEMA_PROPERTY: Final = "formUiSchemaFilename"
# A catching message event (intermediate catch, receive task, boundary, start) names the JSON schema of
# the message's payload; it is checked at deploy and validates the payload like a form (engine.commands.
# messages).
MESSAGE_SCHEMA_PROPERTY: Final = "messageSchema"
FORM_PROPERTIES: Final = frozenset({SCHEMA_PROPERTY, UI_SCHEMA_PROPERTY, MESSAGE_SCHEMA_PROPERTY})

PLAIN_FORM: Final = Form(
    name="plain",
    schema={
        "title": "Done",
        "type": "object",
        "properties": {
            "comment": {
                "type": "string",
                "title": "Comment",
                "description": "Anything worth recording (optional).",
                "maxLength": 4000,
                "default": "",
            }
        },
    },
    ui_schema={"comment": {"ui:widget": "textarea"}, "ui:submitButtonOptions": {"submitText": "Done"}},
)
"""The form of a user task that declares none: an optional comment."""


@dataclass(frozen=True)
class FormRef:
    """The form files one diagram element names (file names in the package)."""

    element_id: str
    schema_file: str
    ui_file: str | None = None


def form_ref(element_id: str, properties: Mapping[str, str]) -> FormRef | None:
    """The form an element's spiffworkflow properties name, or None (the plain form)."""
    schema_file = (properties.get(SCHEMA_PROPERTY) or properties.get(MESSAGE_SCHEMA_PROPERTY, "")).strip()
    ui_file = properties.get(UI_SCHEMA_PROPERTY, "").strip() or None
    if not schema_file and ui_file is None:
        return None
    return FormRef(element_id=element_id, schema_file=schema_file, ui_file=ui_file)


@dataclass(frozen=True)
class FormSet:
    """The forms of one process version, by element id (user task ids and the start event's id)."""

    forms: Mapping[str, Form] = field(default_factory=dict)
    files_hash: str = ""
    start_event: str | None = None  # the start event's element id (its form is the launch start form)

    def form_for(self, element_id: str) -> Form:
        return self.forms.get(element_id, PLAIN_FORM)

    def start_form(self) -> Form:
        """The launch start form: the start event's, else the engine's default (launch_settings.py)."""
        from engine.forms.launch_settings import DEFAULT_START_FORM

        found = self.forms.get(self.start_event) if self.start_event else None
        return found or DEFAULT_START_FORM

    def start_form_errors(self) -> list[DiagramProblem]:
        """Why the start event's form cannot start a launch (checked at deploy; a version stored earlier
        still loads, and its starts are refused field by field)."""
        start = self.forms.get(self.start_event) if self.start_event else None
        if start is None:
            return []
        return [
            DiagramProblem(self.start_event, message, file=start.name)
            for message in start_form_problems(start.schema)
        ]


@dataclass
class _Report:
    errors: list[DiagramProblem] = field(default_factory=list)
    warnings: list[DiagramProblem] = field(default_factory=list)
    forms: dict[str, Form] = field(default_factory=dict)


def check_form_files(
    files: Mapping[str, bytes], referenced: Iterable[FormRef], *, start_event: str | None = None
) -> list[DiagramProblem]:
    """Every problem of the form files a diagram references: errors (the package cannot be deployed) and
    warnings (ignored UI hints). Each names its file (``file``) and the JSON pointer inside it
    (``element_id``), or the element whose reference is wrong. Never raises."""
    report = _check(files, list(referenced))
    report.errors.extend(FormSet(forms=report.forms, start_event=start_event).start_form_errors())
    return [*report.errors, *report.warnings]


def load_forms(
    files: Mapping[str, bytes], referenced: Iterable[FormRef], *, start_event: str | None = None
) -> FormSet:
    """The checked forms, or DiagramRejectedError listing every problem."""
    refs = list(referenced)
    report = _check(files, refs)
    if report.errors:
        raise DiagramRejectedError(report.errors)
    return FormSet(forms=dict(report.forms), files_hash=files_hash(files), start_event=start_event)


def files_hash(files: Mapping[str, bytes]) -> str:
    """One hash of a package's form files (names and contents)."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(hashlib.sha256(name.encode()).digest() + hashlib.sha256(files[name]).digest())
    return digest.hexdigest()


def _check(files: Mapping[str, bytes], refs: list[FormRef]) -> _Report:
    report = _Report()
    if len(files) > limits.MAX_FORM_FILES:
        report.errors.append(
            DiagramProblem(None, f"a package may hold at most {limits.MAX_FORM_FILES} form files")
        )
        return report
    schemas: dict[str, Any] = {}
    for ref in refs:
        _check_ref(files, ref, schemas, report)
    return report


def _check_ref(files: Mapping[str, bytes], ref: FormRef, schemas: dict[str, Any], report: _Report) -> None:
    if not ref.schema_file:
        report.errors.append(
            DiagramProblem(ref.element_id, f"{UI_SCHEMA_PROPERTY} needs a {SCHEMA_PROPERTY}")
        )
        return
    if ref.schema_file not in schemas:
        schemas[ref.schema_file] = _load_schema(files, ref, report)
    schema = schemas[ref.schema_file]
    if schema is None:
        return
    ui: Any = {}
    if ref.ui_file is not None:
        ui = _read_json(
            files,
            element_id=ref.element_id,
            name=ref.ui_file,
            prop=UI_SCHEMA_PROPERTY,
            max_bytes=limits.MAX_UI_SCHEMA_BYTES,
            report=report,
        )
        if ui is None:
            return
        ui_check = check_ui_schema(schema, ui)
        report.errors.extend(_located(ref.ui_file, ui_check.errors))
        report.warnings.extend(_located(ref.ui_file, ui_check.warnings, severity="warning"))
        if ui_check.errors:
            return
    rules, _ = parse_rules(schema)
    report.forms[ref.element_id] = Form(name=ref.schema_file, schema=schema, ui_schema=ui, rules=rules)


def _load_schema(files: Mapping[str, bytes], ref: FormRef, report: _Report) -> Any:
    schema = _read_json(
        files,
        element_id=ref.element_id,
        name=ref.schema_file,
        prop=SCHEMA_PROPERTY,
        max_bytes=limits.MAX_SCHEMA_BYTES,
        report=report,
    )
    if schema is None:
        return None
    problems = check_schema(schema)
    if not problems:
        _, problems = parse_rules(schema)
    if problems:
        report.errors.extend(_located(ref.schema_file, problems))
        return None
    return schema


def _located(
    file_name: str, problems: Iterable[SchemaProblem], *, severity: str = "error"
) -> list[DiagramProblem]:
    return [DiagramProblem(p.pointer, p.message, severity=severity, file=file_name) for p in problems]


def _read_json(
    files: Mapping[str, bytes], *, element_id: str, name: str, prop: str, max_bytes: int, report: _Report
) -> Any:
    data = files.get(name)
    if data is None:
        known = ", ".join(sorted(files)) or "none"
        report.errors.append(
            DiagramProblem(
                element_id, f"{prop} names {name!r}, which is not in the package (its files: {known})"
            )
        )
        return None
    if len(data) > max_bytes:
        report.errors.append(
            DiagramProblem(None, f"the file is {len(data)} bytes; the limit is {max_bytes}", file=name)
        )
        return None
    try:
        value = json.loads(
            data.decode("utf-8-sig"), object_pairs_hook=_unique_keys, parse_constant=_no_constant
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        report.errors.append(DiagramProblem(None, f"the file is not valid JSON: {_reason(exc)}", file=name))
        return None
    if _depth(value) > limits.MAX_JSON_DEPTH:
        report.errors.append(
            DiagramProblem(None, f"JSON nests more than {limits.MAX_JSON_DEPTH} levels deep", file=name)
        )
        return None
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"the key {key!r} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return f"it nests more than {limits.MAX_JSON_DEPTH} levels deep"
    return str(exc)


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limits.MAX_JSON_DEPTH:
            return deepest
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return deepest
