"""The form references of a BPMN diagram: which element names which form files."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from lxml import etree

from engine.forms.package import FormRef, form_ref
from engine.xml_safety import parse_xml_document

_BPMN: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SPIFF: Final = "http://spiffworkflow.org/bpmn/schema/1.0/core"
_NS: Final = {"bpmn": _BPMN, "spiffworkflow": _SPIFF}
_FORM_ELEMENTS: Final = (
    "userTask",
    "manualTask",
    "task",
    "startEvent",
    "intermediateCatchEvent",
    "receiveTask",
    "boundaryEvent",
)


def form_refs_of(root: etree._Element) -> list[FormRef]:
    """The form each user task, manual task and start event of the diagram names, and the message schema
    each catching event names (document order)."""
    refs: list[FormRef] = []
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).namespace != _BPMN:
            continue
        if etree.QName(element).localname not in _FORM_ELEMENTS:
            continue
        properties = {
            str(prop.get("name")): str(prop.get("value"))
            for prop in element.iterfind(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", _NS
            )
            if prop.get("name") is not None and prop.get("value") is not None
        }
        ref = form_ref(element.get("id") or "", properties)
        if ref is not None:
            refs.append(ref)
    return refs


def start_event_of(root: etree._Element) -> str | None:
    """The id of the diagram's (first) start event."""
    for element in root.iter(f"{{{_BPMN}}}startEvent"):
        return element.get("id")
    return None


def form_refs_in(xml: bytes) -> list[FormRef]:
    """`form_refs_of` for a diagram's bytes (parsed with the hardened parser)."""
    return form_refs_of(parse_xml_document(xml))


def read_form_files(directory: Path) -> dict[str, bytes]:
    """The form files (``*.json``) of a directory, by file name: a package's forms on disk."""
    if not directory.is_dir():
        return {}
    return {path.name: path.read_bytes() for path in sorted(directory.glob("*.json")) if path.is_file()}
