"""Every corpus diagram (tests/fixtures/corpus/*.bpmn) imports into the vendored bpmn-js (the viewer the
launch page uses) with 0 warnings, and every element its diagram interchange names is drawn. One page, the
diagrams one after the other in a loop, so the whole corpus costs one browser page."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
VIEWER = ROOT / "api" / "web" / "static" / "vendor" / "bpmn-js" / "bpmn-navigated-viewer.production.min.js"
_ENCODING = re.compile(rb'<\?xml[^>]*encoding="([A-Za-z0-9_-]+)"')
_DRAWN = re.compile(r'<bpmndi:BPMN(?:Shape|Edge) id="[^"]+" bpmnElement="([^"]+)"')

IMPORT_ALL = """
async (diagrams) => {
  const container = document.getElementById("canvas");
  const found = {};
  for (const [name, xml] of diagrams) {
    const viewer = new window.BpmnJS({ container: container });
    try {
      const result = await viewer.importXML(xml);
      const registry = viewer.get("elementRegistry");
      found[name] = {
        warnings: result.warnings.map((w) => w.message),
        drawn: registry.getAll().map((e) => e.id),
      };
    } catch (error) {
      found[name] = { warnings: ["import failed: " + error.message], drawn: [] };
    }
    viewer.destroy();
  }
  return found;
}
"""


def _text(data: bytes) -> str:
    """What the launch page hands bpmn-js for a diagram: its text; a diagram saved in another encoding than
    UTF-8 is drawn as deploy stores it, transcoded to UTF-8 (bpmn-js reads only UTF-8)."""
    declared = _ENCODING.match(data)
    if declared is None or declared.group(1).lower() in {b"utf-8", b"utf8"}:
        return data.decode("utf-8")
    from engine.specs.loading import load_process

    stored = load_process(data).xml
    assert stored.startswith('<?xml version="1.0" encoding="UTF-8"?>'), stored[:80]
    return stored


def test_every_corpus_diagram_imports_into_bpmn_js_without_a_warning(browser: Browser) -> None:
    if not VIEWER.is_file():
        pytest.skip(f"{VIEWER} is missing (tools/vendor-assets)")
    diagrams = sorted((p.stem, _text(p.read_bytes())) for p in CORPUS.glob("*.bpmn"))
    assert len(diagrams) >= 8
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.set_content(
            '<html><body><div id="canvas" style="width:1400px;height:900px"></div></body></html>'
        )
        page.add_script_tag(path=str(VIEWER))
        found: dict[str, Any] = page.evaluate(IMPORT_ALL, diagrams)
    finally:
        page.close()
    assert sorted(found) == [name for name, _ in diagrams]
    warnings = {name: result["warnings"] for name, result in found.items() if result["warnings"]}
    assert warnings == {}
    for name, xml in diagrams:
        missing = set(_DRAWN.findall(xml)) - set(found[name]["drawn"])
        assert missing == set(), f"{name}: not drawn: {sorted(missing)}"
