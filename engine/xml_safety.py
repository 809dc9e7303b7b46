"""Hardened XML parsing for BPMN uploads.

Every check that matters is made in our own code before lxml sees a byte, so safety does not depend on the
lxml or libxml2 version or its defaults: the size is capped, a document in another encoding (UTF-16,
UTF-32, ISO-8859-1, …) is transcoded to UTF-8 first, and any DOCTYPE or ENTITY declaration is refused
by a plain text scan of the decoded text (an entity bomb is rejected without expanding anything). lxml
then parses with entity resolution, DTD loading and network access off, and the resulting tree is
checked once more for a DOCTYPE and for entity nodes.

The raw document is stored and served, so `check_markup` also holds everything that is not process to an
allow-list: no processing instructions (`<?xml-stylesheet?>`), no element or attribute in a namespace a
browser would make active (XHTML, SVG, XLink, MathML, XSLT, XInclude), no event attribute (`on…`)
anywhere, and the diagram-interchange part (BPMNDiagram, BPMNPlane, shapes, edges, labels) may hold only
its own elements and attributes. `clean_label` puts names on one line: control characters and line or
paragraph separators would break every e-mail header and log line that quotes them.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

from lxml import etree

from engine.errors import DiagramProblem, DiagramRejectedError

__all__ = [
    "MAX_DIAGRAM_BYTES",
    "check_markup",
    "clean_label",
    "document_text",
    "element_line",
    "parse_xml_document",
]

MAX_DIAGRAM_BYTES: Final = 1_000_000

_UTF8_BOM: Final = codecs.BOM_UTF8
# UTF-32 first: its little-endian mark starts with the UTF-16 little-endian one.
_OTHER_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Without a byte-order mark a document of these encodings starts with "<" so laid out (XML 1.0, F.1).
_BOMLESS_LAYOUTS: Final = (
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
)
_UTF8_NAMES: Final = frozenset({b"utf-8", b"utf8"})
_XML_DECLARATION: Final = re.compile(rb"<\?xml\b(?P<body>[^>]{0,500}?)\?>")
_ENCODING_PSEUDO_ATTRIBUTE: Final = re.compile(
    rb"""\bencoding\s*=\s*(?P<quote>["'])(?P<name>.*?)(?P=quote)"""
)
_ENCODING_IN_DECLARATION: Final = re.compile(
    r"""(?P<head>\A\s*<\?xml\b[^>]{0,500}?\bencoding\s*=\s*)(?P<quote>["'])[^"']*(?P=quote)"""
)
_DECLARATIONS: Final = re.compile(r"<!\s*(?P<keyword>doctype|entity)", re.IGNORECASE)


def _reject(message: str, *, too_large: bool = False) -> DiagramRejectedError:
    return DiagramRejectedError([DiagramProblem(None, message)], too_large=too_large)


def _decode(data: bytes) -> tuple[bytes, str]:
    """Return the document as UTF-8 bytes and as text. A document in another encoding (a UTF-16 or UTF-32
    byte-order mark or layout, or the encoding its XML declaration names, like ISO-8859-1) is transcoded,
    and its declaration then names UTF-8. Every later check reads the transcoded text."""
    encoding, payload = _detected_encoding(data)
    try:
        text = payload.decode(encoding)
    except UnicodeDecodeError as exc:
        line = payload.count(b"\n", 0, exc.start) + 1
        shown = "UTF-8" if encoding == "utf-8" else encoding
        raise _reject(f"the diagram is not valid {shown}: invalid {shown} at line {line}") from None
    except (LookupError, ValueError):
        raise _reject(f"the diagram's encoding {encoding!r} is not a known text encoding") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _reject(f"the diagram contains NUL characters (line {line})")
    if encoding != "utf-8":
        text = _ENCODING_IN_DECLARATION.sub(r"\g<head>\g<quote>UTF-8\g<quote>", text, count=1)
        payload = text.encode("utf-8")
    return payload, text


def _detected_encoding(data: bytes) -> tuple[str, bytes]:
    """The document's encoding (a Python codec name) and its bytes without a byte-order mark."""
    if data.startswith(_UTF8_BOM):
        return "utf-8", data.removeprefix(_UTF8_BOM)
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            return name, data.removeprefix(bom)
    for layout, name in _BOMLESS_LAYOUTS:
        if data.startswith(layout):
            return name, data
    declaration = _XML_DECLARATION.match(data)
    found = _ENCODING_PSEUDO_ATTRIBUTE.search(declaration.group("body")) if declaration else None
    if found is None or found.group("name").strip().lower() in _UTF8_NAMES:
        return "utf-8", data
    name = found.group("name").strip().decode("ascii", errors="replace")
    try:
        if not getattr(codecs.lookup(name), "_is_text_encoding", True):  # not base64, rot13, …
            raise LookupError(name)
    except LookupError:
        raise _reject(f"the diagram's XML declaration names an unknown encoding {name!r}") from None
    return name, data


def _refuse_declarations(text: str) -> None:
    """Refuse DOCTYPE and ENTITY declarations wherever they appear, by a linear scan of the text."""
    found = _DECLARATIONS.search(text)
    if found is not None:
        keyword = found.group("keyword").upper()
        line = text.count("\n", 0, found.start()) + 1
        raise _reject(f"{keyword} declarations are not allowed (line {line})")


def _parser() -> etree.XMLParser:
    # A new parser per document: lxml parsers keep state and must not be shared between threads.
    return etree.XMLParser(
        encoding="utf-8",  # transcoded above; never let the document pick another decoder
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=False,  # kept so that check_markup can refuse them: the raw document is stored
        recover=False,
    )


def _parse(payload: bytes) -> etree._Element:
    try:
        root = etree.fromstring(payload, _parser())
    except etree.XMLSyntaxError as exc:
        message = str(exc.msg if exc.msg else exc).strip()
        line, column = exc.position if exc.position else (None, None)
        if line is not None and f"line {line}" not in message:
            message = f"{message} (line {line}, column {column})"
        raise _reject(f"the diagram is not well-formed XML: {message}") from None
    except (etree.ParseError, ValueError) as exc:  # defensive: any other parser refusal
        raise _reject(f"the diagram could not be parsed as XML: {exc}") from None
    if root is None:  # pragma: no cover - only a recovering parser returns no root
        raise _reject("the diagram has no root element")
    return root


def _check_tree(root: etree._Element) -> None:
    """Second line of defence: the parsed tree must have no DTD and no entity nodes."""
    docinfo = root.getroottree().docinfo
    if getattr(docinfo, "doctype", "") or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise _reject("DOCTYPE declarations are not allowed")
    for entity in root.iter(etree.Entity):
        line = element_line(entity)
        where = f" (line {line})" if line is not None else ""
        raise _reject(f"entity references are not allowed: {entity.text}{where}")


def parse_xml_document(data: bytes, *, max_bytes: int = MAX_DIAGRAM_BYTES) -> etree._Element:
    """Parse an uploaded diagram safely and return its root element.

    Raises :class:`DiagramRejectedError` (``too_large=True`` for an oversized upload) with a problem that
    says what is wrong and, where known, on which line.
    """
    if len(data) > max_bytes:
        raise _reject(f"diagram is {len(data)} bytes; the limit is {max_bytes}", too_large=True)
    if not data.strip():
        raise _reject("the diagram is empty")
    payload, text = _decode(bytes(data))
    if not text.strip():
        raise _reject("the diagram is empty")
    _refuse_declarations(text)
    root = _parse(payload)
    _check_tree(root)
    return root


def document_text(data: bytes) -> str:
    """The document as text, transcoded from its encoding, its declaration naming UTF-8: what is stored
    and served (call after parse_xml_document accepted it)."""
    return _decode(bytes(data))[1]


def element_line(element: etree._Element) -> int | None:
    """The source line an element started on, if lxml recorded it."""
    line = getattr(element, "sourceline", None)
    return line if isinstance(line, int) else None


BPMNDI_NS: Final = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS: Final = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS: Final = "http://www.omg.org/spec/DD/20100524/DI"
_ACTIVE_NAMESPACES: Final = frozenset(
    {
        "http://www.w3.org/1999/xhtml",
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
        "http://www.w3.org/1998/Math/MathML",
        "http://www.w3.org/1999/XSL/Transform",
        "http://www.w3.org/2001/XInclude",
        "http://www.w3.org/2003/XInclude",
        "http://www.w3.org/2001/xml-events",
    }
)
# The diagram-interchange vocabulary (BPMN 2.0 DI, DD DC and DI): elements by namespace, and the
# unqualified attributes any of them may carry.
_DI_ELEMENTS: Final = {
    BPMNDI_NS: frozenset(
        {"BPMNDiagram", "BPMNPlane", "BPMNShape", "BPMNEdge", "BPMNLabel", "BPMNLabelStyle"}
    ),
    DC_NS: frozenset({"Bounds", "Font", "Point"}),
    DI_NS: frozenset({"waypoint", "extension"}),  # an extension's vendor content is ignored, see specs
}
_DI_ATTRIBUTES: Final = frozenset(
    {
        "id", "name", "documentation", "resolution", "bpmnElement", "isHorizontal", "isExpanded",
        "isMarkerVisible", "isMessageVisible", "participantBandKind", "choreographyActivityShape",
        "sourceElement", "targetElement", "messageVisibleKind", "labelStyle", "x", "y", "width", "height",
        "size", "isBold", "isItalic", "isUnderline", "isStrikeThrough",
    }
)  # fmt: skip
DI_EXTENSION: Final = f"{{{DI_NS}}}extension"
_XML_NS: Final = "http://www.w3.org/XML/1998/namespace"
_XSI_NS: Final = "http://www.w3.org/2001/XMLSchema-instance"
# Cc (C0, DEL, C1 incl. U+0085) and the Unicode line and paragraph separators.
_BREAKING: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACES: Final = re.compile(r"\s+")


def clean_label(text: str) -> str:
    """A name on one line: control characters and line/paragraph separators become spaces, runs of
    white space one space."""
    if not _BREAKING.search(text):
        return text.strip()
    return _SPACES.sub(" ", _BREAKING.sub(" ", text)).strip()


def has_breaking_characters(text: str) -> bool:
    return _BREAKING.search(text) is not None


def is_active_namespace(namespace: str) -> bool:
    """Whether a browser would give elements or attributes of this namespace behaviour (scripts, links)."""
    return namespace in _ACTIVE_NAMESPACES


def _namespace(name: object) -> str:
    return etree.QName(name).namespace or "" if isinstance(name, str) else ""


def _localname(name: object) -> str:
    return etree.QName(name).localname if isinstance(name, str) else ""


def _nearest_id(element: etree._Element) -> str | None:
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return node.get("id")
        node = node.getparent()
    return None


def _where(element: etree._Element) -> str:
    line = element_line(element)
    return f" (line {line})" if line is not None else ""


def _processing_instructions(root: etree._Element) -> list[DiagramProblem]:
    found: list[etree._Element] = [*root.itersiblings(preceding=True), *root.itersiblings()]
    found.extend(root.iter(etree.PI))
    return [
        DiagramProblem(None, f"processing instructions are not allowed: <?{pi.target!s} …?>{_where(pi)}")
        for pi in found
        if isinstance(pi, etree._ProcessingInstruction)
    ]


def _attribute_problems(element: etree._Element, in_di: bool) -> list[DiagramProblem]:
    problems: list[DiagramProblem] = []
    for name in element.attrib:
        ns, local = _namespace(name), _localname(name)
        where = f"attribute {local!r} on <{_localname(element.tag)}>{_where(element)}"
        if local.lower().startswith("on"):
            problems.append(
                DiagramProblem(_nearest_id(element), f"event attributes are not allowed: {where}")
            )
        elif ns in _ACTIVE_NAMESPACES:
            problems.append(
                DiagramProblem(_nearest_id(element), f"{where} is in namespace {ns!r}: not allowed")
            )
        elif in_di and not ns and local not in _DI_ATTRIBUTES:
            problems.append(
                DiagramProblem(_nearest_id(element), f"{where} is not allowed in the diagram interchange")
            )
    return problems


def _element_problem(element: etree._Element, in_di: bool) -> DiagramProblem | None:
    ns, local = _namespace(element.tag), _localname(element.tag)
    if ns in _ACTIVE_NAMESPACES:
        return DiagramProblem(
            _nearest_id(element), f"<{local}> of namespace {ns!r} is not allowed{_where(element)}"
        )
    if in_di and local not in _DI_ELEMENTS.get(ns, frozenset()):
        return DiagramProblem(
            _nearest_id(element),
            f"<{local}> (namespace {ns or 'none'!r}) is not allowed in the diagram interchange"
            f"{_where(element)}",
        )
    return None


def check_markup(root: etree._Element) -> list[DiagramProblem]:
    """Problems of the document as markup (every one, in document order); see the module docstring.
    Process semantics are engine.specs' business."""
    problems = _processing_instructions(root)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        ancestors = {a.tag for a in element.iterancestors()}
        # Vendor content of a DI extension point is ignored like extensionElements' (only active content
        # is refused there); everything else of the interchange keeps to its vocabulary.
        in_di = (
            _namespace(element.tag) in _DI_ELEMENTS or f"{{{BPMNDI_NS}}}BPMNDiagram" in ancestors
        ) and DI_EXTENSION not in ancestors
        found = _element_problem(element, in_di)
        if found is not None:
            problems.append(found)  # refused whole: its attributes are not news
            continue
        problems.extend(_attribute_problems(element, in_di))
    return problems


def foreign_attribute_namespaces(element: etree._Element) -> set[str]:
    """Namespaces of the element's qualified attributes that are neither BPMN's own nor XML's (vendor
    attributes such as camunda: or bioc:, which Launch Gate ignores)."""
    own = {
        _XML_NS,
        _XSI_NS,
        "http://www.omg.org/spec/BPMN/20100524/MODEL",
        "http://spiffworkflow.org/bpmn/schema/1.0/core",
        BPMNDI_NS,
        DC_NS,
        DI_NS,
    }
    return {
        ns for ns in map(_namespace, element.attrib) if ns and ns not in own and ns not in _ACTIVE_NAMESPACES
    }
