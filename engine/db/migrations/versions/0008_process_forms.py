"""Form files stored with each process version (forms belong to the process, engine/forms).

Adds process_version.forms: a JSON text {"files": {name: text}, "bindings": {element id: {"schema": name,
"ui": name or null}}}, written at deploy from the package. Versions deployed before this release named no
form files: their user tasks took the built-in form whose name was the task id, and their start event the
launch start form. This migration gives each such version exactly that, as data: the shipped launch_gate form
files (forms/launch_gate/, which reproduce the built-in forms' rules) bound by task id, the start event bound
to the start form. So a launch running on the v1 diagram keeps its forms, and the engine has one path.

Revision ID: 0008_process_forms
Revises: 0007_audit_chains
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op
from lxml import etree

revision = "0008_process_forms"
down_revision = "0007_audit_chains"
branch_labels = None
depends_on = None

# The shipped form files: forms/launch_gate in the source tree, api/forms/launch_gate when installed.
_FORMS_DIR = next(
    (
        folder
        for folder in (
            Path(__file__).resolve().parents[4] / "forms" / "launch_gate",
            Path(__file__).resolve().parents[4] / "api" / "forms" / "launch_gate",
        )
        if folder.is_dir()
    ),
    Path(__file__).resolve().parents[4] / "forms" / "launch_gate",
)
_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
# The built-in forms of the release before this one, by user task id.
_LEGACY_TASKS = (
    "draft_proposal",
    "review_proposal",
    "revise_proposal",
    "open_beta",
    "complete_beta_faq",
    "draft_report_template",
    "review_report_template",
    "send_launch_notice",
    "acknowledge_launch_notice",
    "go_live",
)
_START_FORM = "start_launch"


def _legacy_bindings(bpmn_xml: str) -> dict[str, str]:
    """Element id -> the legacy form name: each known user task, and the start event(s)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    root = etree.fromstring(bpmn_xml.encode("utf-8"), parser)
    bindings: dict[str, str] = {}
    for element in root.iter(f"{{{_BPMN}}}userTask", f"{{{_BPMN}}}startEvent"):
        element_id = element.get("id") or ""
        if etree.QName(element).localname == "startEvent":
            bindings[element_id] = _START_FORM
        elif element_id in _LEGACY_TASKS:
            bindings[element_id] = element_id
    return bindings


def _start_event(bpmn_xml: str) -> str | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    root = etree.fromstring(bpmn_xml.encode("utf-8"), parser)
    for element in root.iter(f"{{{_BPMN}}}startEvent"):
        return element.get("id")
    return None


def _package(bindings: dict[str, str], start_event: str | None) -> dict[str, Any]:
    files: dict[str, str] = {}
    refs: dict[str, dict[str, str | None]] = {}
    for element_id, form in bindings.items():
        schema, ui = f"{form}-schema.json", f"{form}-uischema.json"
        for name in (schema, ui):
            path = _FORMS_DIR / name
            if not path.is_file():
                raise RuntimeError(
                    f"migration 0008 needs the shipped form file {path} for stored process versions; "
                    "run it from the Launch Gate source tree"
                )
            files[name] = path.read_text(encoding="utf-8")
        refs[element_id] = {"schema": schema, "ui": ui}
    return {"files": files, "bindings": refs, "start_event": start_event}


def upgrade() -> None:
    op.add_column("process_version", sa.Column("forms", sa.Text(), nullable=True))
    connection = op.get_bind()
    table = sa.table(
        "process_version",
        sa.column("id", sa.Integer()),
        sa.column("bpmn_xml", sa.Text()),
        sa.column("forms", sa.Text()),
    )
    stored = connection.execute(sa.select(table.c.id, table.c.bpmn_xml).where(table.c.forms.is_(None))).all()
    for version_id, bpmn_xml in stored:
        package = _package(_legacy_bindings(bpmn_xml), _start_event(bpmn_xml))
        connection.execute(
            table.update().where(table.c.id == version_id).values(forms=json.dumps(package, sort_keys=True))
        )


def downgrade() -> None:
    op.drop_column("process_version", "forms")
