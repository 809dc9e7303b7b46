"""Hardened XML parsing of uploaded diagrams."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from lxml import etree

from engine.errors import DiagramRejectedError
from engine.xml_safety import (
    MAX_DIAGRAM_BYTES,
    _check_tree,
    _parse,
    check_markup,
    clean_label,
    document_text,
    element_line,
    parse_xml_document,
)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"

BPMN_DOCUMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="definitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <!-- a comment -->
  <bpmn:process id="launch_gate" isExecutable="true">
    <bpmn:startEvent id="start_launch" />
    <bpmn:userTask id="review_proposal" name="Review Proposal &amp; Sign Off">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="gate_pass_when" value="proposal_review.decision == 'approve'" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="flow_1" sourceRef="start_launch" targetRef="review_proposal" />
  </bpmn:process>
</bpmn:definitions>
"""

XXE_DOCUMENT = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE definitions [
  <!ENTITY xxe SYSTEM "file:///etc/passwd">
]>
<definitions><process id="p" name="&xxe;">&xxe;</process></definitions>
"""


def billion_laughs(levels: int = 10) -> bytes:
    entities = ['<!ENTITY lol0 "lol">']
    entities += [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n'
        + "\n".join(entities)
        + f"\n]>\n<lolz>&lol{levels - 1};</lolz>\n"
    ).encode()


def rejection(data: bytes, **kwargs: int) -> DiagramRejectedError:
    with pytest.raises(DiagramRejectedError) as caught:
        parse_xml_document(data, **kwargs)
    return caught.value


# --- documents that parse ---------------------------------------------------------------------------------


def test_parse_xml_document_returns_root_when_bpmn_document_valid() -> None:
    root = parse_xml_document(BPMN_DOCUMENT)
    assert root.tag == f"{{{BPMN_NS}}}definitions"
    task = root.find(f".//{{{BPMN_NS}}}userTask")
    assert task is not None
    assert task.get("name") == "Review Proposal & Sign Off"
    assert element_line(task) == 8


def test_parse_xml_document_accepts_utf8_byte_order_mark() -> None:
    root = parse_xml_document(b"\xef\xbb\xbf" + BPMN_DOCUMENT)
    assert root.get("id") == "definitions"


def test_parse_xml_document_accepts_document_without_declaration() -> None:
    assert parse_xml_document("<a>héllo</a>".encode()).text == "héllo"


@pytest.mark.parametrize("name", ["utf-8", "UTF-8", "utf8"])
def test_parse_xml_document_accepts_declaration_when_encoding_utf8(name: str) -> None:
    assert parse_xml_document(f'<?xml version="1.0" encoding="{name}"?><a/>'.encode()).tag == "a"


def test_check_markup_refuses_every_processing_instruction_and_parse_drops_comments() -> None:
    data = b'<?xml version="1.0"?>\n<?evil run="x"?><a><?php system("x"); ?><!-- c --><b/></a><?after?>'
    root = parse_xml_document(data)
    assert not list(root.iter(etree.Comment))
    messages = [p.message for p in check_markup(root)]
    assert sorted(messages) == sorted(
        [
            "processing instructions are not allowed: <?evil …?> (line 2)",
            "processing instructions are not allowed: <?php …?> (line 2)",
            "processing instructions are not allowed: <?after …?> (line 2)",
        ]
    )


def test_parse_xml_document_accepts_document_at_size_limit() -> None:
    data = b"<a>" + b"x" * (100 - 7) + b"</a>"
    assert len(data) == 100
    assert parse_xml_document(data, max_bytes=100).tag == "a"


def test_element_line_returns_none_when_element_built_in_memory() -> None:
    assert element_line(etree.Element("a")) is None


# --- DOCTYPE, entities ------------------------------------------------------------------------------------


def test_parse_xml_document_rejects_external_entity_without_reading_file() -> None:
    secret = Path("/etc/passwd").read_text(errors="replace").splitlines()[0]
    error = rejection(XXE_DOCUMENT)
    assert [p.message for p in error.problems] == ["DOCTYPE declarations are not allowed (line 2)"]
    assert error.problems[0].element_id is None
    assert not error.too_large
    assert secret not in str(error)
    assert "root:" not in str(error)


def test_parse_xml_document_rejects_billion_laughs_bomb() -> None:
    error = rejection(billion_laughs())
    assert [p.message for p in error.problems] == ["DOCTYPE declarations are not allowed (line 2)"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<!doctype a>\n<a/>", "DOCTYPE declarations are not allowed (line 1)"),
        (b'<?xml version="1.0"?>\n\n<!DoCtYpE a SYSTEM "http://example.invalid/a.dtd"><a/>', "DOCTYPE"),
        (b'<a>\n<!ENTITY e "x">\n</a>', "ENTITY declarations are not allowed (line 2)"),
        (b"<a><!-- <!DOCTYPE in a comment --></a>", "DOCTYPE declarations are not allowed (line 1)"),
        (b"<a><![CDATA[<!entity x>]]></a>", "ENTITY declarations are not allowed (line 1)"),
        (b"<a>\n</a>\n<!DOCTYPE late>", "DOCTYPE declarations are not allowed (line 3)"),
    ],
)
def test_parse_xml_document_rejects_declaration_anywhere(data: bytes, message: str) -> None:
    error = rejection(data)
    assert message in error.problems[0].message


def test_parse_xml_document_rejects_undeclared_entity_reference() -> None:
    error = rejection(b"<a>\n&xxe;</a>")
    assert "Entity 'xxe' not defined" in error.message
    assert "line 2" in error.message


def test_check_tree_rejects_doctype_when_scan_bypassed() -> None:
    root = _parse(b'<!DOCTYPE a [<!ENTITY e "x">]>\n<a>&e;</a>')
    with pytest.raises(DiagramRejectedError, match="DOCTYPE declarations are not allowed"):
        _check_tree(root)


def test_check_tree_rejects_entity_node() -> None:
    root = etree.Element("a")
    root.append(etree.Entity("e"))
    with pytest.raises(DiagramRejectedError, match="entity references are not allowed: &e;"):
        _check_tree(root)


def test_parser_leaves_external_entity_unresolved_when_scan_bypassed() -> None:
    root = _parse(XXE_DOCUMENT.replace(b' name="&xxe;"', b""))
    assert b"root:" not in etree.tostring(root)
    assert [entity.text for entity in root.iter(etree.Entity)] == ["&xxe;"]
    with pytest.raises(DiagramRejectedError, match="DOCTYPE declarations are not allowed"):
        _check_tree(root)


# --- size, emptiness, encoding ----------------------------------------------------------------------------


def test_parse_xml_document_rejects_as_too_large_when_over_limit() -> None:
    data = b"<a>" + b"x" * MAX_DIAGRAM_BYTES + b"</a>"
    error = rejection(data)
    assert error.too_large
    assert [p.message for p in error.problems] == [
        f"diagram is {len(data)} bytes; the limit is {MAX_DIAGRAM_BYTES}"
    ]


def test_parse_xml_document_rejects_as_too_large_when_over_custom_limit() -> None:
    error = rejection(b"<a>" + b"x" * 94 + b"</a>", max_bytes=100)
    assert error.too_large
    assert "diagram is 101 bytes; the limit is 100" in error.message


@pytest.mark.parametrize("data", [b"", b"  \n\t", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_parse_xml_document_rejects_empty_input(data: bytes) -> None:
    error = rejection(data)
    assert "the diagram is empty" in error.message
    assert not error.too_large


@pytest.mark.parametrize(
    ("bom", "codec"),
    [
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
        (codecs.BOM_UTF32_BE, "utf-32-be"),
        (b"", "utf-16-le"),  # no byte-order mark: the layout of "<" tells
        (b"", "utf-16-be"),
    ],
)
def test_parse_xml_document_transcodes_when_utf16_or_utf32(bom: bytes, codec: str) -> None:
    data = bom + '<?xml version="1.0" encoding="UTF-16"?><a name="Régionale Prüfung"/>'.encode(codec)

    root = parse_xml_document(data)

    assert root.get("name") == "Régionale Prüfung"
    assert document_text(data) == '<?xml version="1.0" encoding="UTF-8"?><a name="Régionale Prüfung"/>'


@pytest.mark.parametrize("name", ["ISO-8859-1", "latin-1", "windows-1252"])
def test_parse_xml_document_transcodes_when_declaration_names_other_encoding(name: str) -> None:
    data = f"<?xml version='1.0' encoding='{name}'?>\n<a n='Caf\u00e9'>caf\u00e9</a>".encode(name)
    assert b"\xe9" in data

    root = parse_xml_document(data)

    assert (root.get("n"), root.text) == ("Café", "café")
    assert document_text(data) == "<?xml version='1.0' encoding='UTF-8'?>\n<a n='Café'>café</a>"
    assert parse_xml_document(document_text(data).encode()).get("n") == "Café"  # what is stored reloads


@pytest.mark.parametrize("name", ["rot13", "base64", "no-such-encoding"])
def test_parse_xml_document_rejects_declaration_naming_no_text_encoding(name: str) -> None:
    error = rejection(f"<?xml version='1.0' encoding='{name}'?><a/>".encode())
    assert f"names an unknown encoding {name!r}" in error.message


def test_parse_xml_document_refuses_doctype_hidden_in_another_encoding() -> None:
    data = '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode("utf-16-le")
    error = rejection(codecs.BOM_UTF16_LE + data)
    assert "DOCTYPE declarations are not allowed" in error.message


def test_parse_xml_document_rejects_bytes_invalid_in_declared_encoding() -> None:
    error = rejection(b"<?xml version='1.0' encoding='utf-16'?><a/>")
    assert "not valid utf-16" in error.message


def test_parse_xml_document_rejects_invalid_utf8_naming_line() -> None:
    error = rejection(b"<a>\n\n<b>\xff</b></a>")
    assert "invalid UTF-8 at line 3" in error.message


# --- malformed XML ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (b"<a>\n  <b>\n</a>", "line 3"),
        (b"<a>\n\n\n<b attr=x/></a>", "line 4"),
        (b"<a/>\n<b/>", "line 2"),
        (b"<a>\n", "line 2"),
        (b"not xml at all", "line 1"),
    ],
)
def test_parse_xml_document_rejects_malformed_xml_naming_line(data: bytes, where: str) -> None:
    error = rejection(data)
    assert error.message.startswith("document: the diagram is not well-formed XML: ")
    assert where in error.message
    assert not error.too_large


# --- markup allow-list: processing instructions, active content, the diagram interchange -----------------

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "bpmn"


def test_check_markup_refuses_hostile_interchange_naming_each_part() -> None:
    root = parse_xml_document((FIXTURES / "hostile_interchange.bpmn").read_bytes())
    found = [(p.element_id, p.message) for p in check_markup(root)]
    assert found == [
        (None, "processing instructions are not allowed: <?xml-stylesheet …?> (line 2)"),
        (
            "minimal_gate_plane",
            "event attributes are not allowed: attribute 'onload' on <BPMNPlane> (line 90)",
        ),
        ("minimal_gate_plane", "<meta> of namespace 'http://www.w3.org/1999/xhtml' is not allowed (line 91)"),
        (
            "prepare_di",
            "attribute 'style' on <BPMNShape> (line 107) is in namespace 'http://www.w3.org/1999/xhtml': "
            "not allowed",
        ),
        (
            "prepare_di",
            "attribute 'transform' on <BPMNShape> (line 107) is not allowed in the diagram interchange",
        ),
    ]


def test_check_markup_finds_nothing_in_the_shipped_diagram() -> None:
    shipped = Path(__file__).resolve().parents[2] / "bpmn" / "launch_gate.bpmn"
    assert check_markup(parse_xml_document(shipped.read_bytes())) == []


@pytest.mark.parametrize(
    "markup",
    [
        '<svg:svg xmlns:svg="http://www.w3.org/2000/svg"/>',
        '<x:include xmlns:x="http://www.w3.org/2001/XInclude" href="/etc/passwd"/>',
        '<a xmlns:l="http://www.w3.org/1999/xlink" l:href="javascript:alert(1)"/>',
        '<a OnClick="alert(1)"/>',
    ],
)
def test_check_markup_refuses_active_content_anywhere(markup: str) -> None:
    root = parse_xml_document(f"<root><deep>{markup}</deep></root>".encode())
    assert len(check_markup(root)) == 1


def test_check_markup_accepts_vendor_content_in_a_di_extension_but_not_active_content() -> None:
    document = f"""<d:BPMNDiagram xmlns:d="{BPMNDI}" xmlns:di="http://www.omg.org/spec/DD/20100524/DI"
        xmlns:v="https://vendor.example/di" xmlns:h="http://www.w3.org/1999/xhtml" id="diagram">
      <d:BPMNPlane id="plane" bpmnElement="p"><di:extension><v:style colour="red"/>{{extra}}</di:extension>
      </d:BPMNPlane></d:BPMNDiagram>"""
    assert check_markup(parse_xml_document(document.format(extra="").encode())) == []
    hostile = document.format(extra="<h:script>alert(1)</h:script>").encode()
    assert [p.element_id for p in check_markup(parse_xml_document(hostile))] == ["plane"]


BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("Sign Off", "Sign Off"),
        ("Sign\r\nOff", "Sign Off"),
        ("Sign\u2028Off\u2029", "Sign Off"),
        ("Sign\u0085Off", "Sign Off"),
        ("Sign\tOff\x7f", "Sign Off"),
        ("  Sign   Off ", "Sign   Off"),
        ("Sign \n  Off", "Sign Off"),
    ],
)
def test_clean_label_puts_a_name_on_one_line(text: str, clean: str) -> None:
    assert clean_label(text) == clean
