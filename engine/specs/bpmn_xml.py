"""The BPMN namespaces and the small readers of a parsed diagram that every check uses."""

from __future__ import annotations

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS}


def local_name(tag: object) -> str:
    """The element name without its namespace ("" for a comment or processing instruction)."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def namespace(tag: object) -> str:
    return etree.QName(tag).namespace or "" if isinstance(tag, str) else ""


def properties(element: etree._Element) -> dict[str, str]:
    """The element's `spiffworkflow:property` name/value pairs (docs/design.md, "The diagram contract")."""
    found: dict[str, str] = {}
    for prop in element.iterfind(
        "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS
    ):
        name, value = prop.get("name"), prop.get("value")
        if name is not None and value is not None:
            found[name] = value
    return found


def nearest_id(element: etree._Element) -> str | None:
    """The id of the element or of its closest ancestor that has one: what a problem names."""
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def sequence_edges(process: etree._Element) -> dict[str, list[str]]:
    """The process's sequence flows as source id -> target ids, in document order."""
    edges: dict[str, list[str]] = {}
    for flow in process.iterfind("bpmn:sequenceFlow", NS):
        edges.setdefault(flow.get("sourceRef") or "", []).append(flow.get("targetRef") or "")
    return edges
