"""Hardened XML parsing for BPMN uploads.

Every check that matters is made in our own code before lxml sees a byte, so safety does not depend on the
lxml or libxml2 version or its defaults: the size is capped, only UTF-8 is accepted, and any DOCTYPE or
ENTITY declaration is refused by a plain text scan (an entity bomb is rejected without expanding anything).
lxml then parses with entity resolution, DTD loading and network access off, and the resulting tree is
checked once more for a DOCTYPE and for entity nodes.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

from lxml import etree

from engine.errors import DiagramProblem, DiagramRejectedError

__all__ = ["MAX_DIAGRAM_BYTES", "element_line", "parse_xml_document"]

MAX_DIAGRAM_BYTES: Final = 1_000_000

_UTF8_BOM: Final = codecs.BOM_UTF8
# UTF-32 first: its little-endian mark starts with the UTF-16 little-endian one.
_OTHER_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
_UTF8_NAMES: Final = frozenset({b"utf-8", b"utf8"})
_XML_DECLARATION: Final = re.compile(rb"<\?xml\b(?P<body>[^>]{0,500}?)\?>")
_ENCODING_PSEUDO_ATTRIBUTE: Final = re.compile(
    rb"""\bencoding\s*=\s*(?P<quote>["'])(?P<name>.*?)(?P=quote)"""
)
_DECLARATIONS: Final = re.compile(r"<!\s*(?P<keyword>doctype|entity)", re.IGNORECASE)


def _reject(message: str, *, too_large: bool = False) -> DiagramRejectedError:
    return DiagramRejectedError([DiagramProblem(None, message)], too_large=too_large)


def _decode(data: bytes) -> tuple[bytes, str]:
    """Return the document without a UTF-8 byte-order mark, and its text. Anything but UTF-8 is rejected."""
    for bom, name in _OTHER_BOMS:
        if data.startswith(bom):
            raise _reject(f"the diagram must be UTF-8 encoded; it starts with a {name} byte-order mark")
    payload = data.removeprefix(_UTF8_BOM)
    declaration = _XML_DECLARATION.match(payload)
    if declaration is not None:
        encoding = _ENCODING_PSEUDO_ATTRIBUTE.search(declaration.group("body"))
        if encoding is not None and encoding.group("name").strip().lower() not in _UTF8_NAMES:
            name = encoding.group("name").decode("ascii", errors="replace")
            raise _reject(f"the diagram must be UTF-8 encoded; its XML declaration names {name!r}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = payload.count(b"\n", 0, exc.start) + 1
        raise _reject(f"the diagram must be UTF-8 encoded; invalid UTF-8 at line {line}") from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise _reject(f"the diagram must be UTF-8 encoded; it contains NUL bytes (line {line})")
    return payload, text


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
        encoding="utf-8",  # already checked above; never let the document pick another decoder
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        attribute_defaults=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
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


def element_line(element: etree._Element) -> int | None:
    """The source line an element started on, if lxml recorded it."""
    line = getattr(element, "sourceline", None)
    return line if isinstance(line, int) else None
