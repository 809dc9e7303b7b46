"""The shipped diagrams (bpmn/*.bpmn: the launch gate with its send task, the minor launch) import into the
vendored bpmn-js with 0 warnings and every element their interchange names is drawn, like the corpus."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.e2e.test_corpus_import import _DRAWN, IMPORT_ALL, VIEWER

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

SHIPPED = Path(__file__).resolve().parents[2] / "bpmn"


def test_every_shipped_diagram_imports_into_bpmn_js_without_a_warning(browser: Browser) -> None:
    if not VIEWER.is_file():
        pytest.skip(f"{VIEWER} is missing (tools/vendor-assets)")
    diagrams = sorted((p.stem, p.read_text(encoding="utf-8")) for p in SHIPPED.rglob("*.bpmn"))
    assert "launch_gate" in dict(diagrams)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    try:
        page.set_content(
            '<html><body><div id="canvas" style="width:1400px;height:900px"></div></body></html>'
        )
        page.add_script_tag(path=str(VIEWER))
        found: dict[str, Any] = page.evaluate(IMPORT_ALL, diagrams)
    finally:
        page.close()
    for name, xml in diagrams:
        assert found[name]["warnings"] == [], name
        missing = set(_DRAWN.findall(xml)) - set(found[name]["drawn"])
        assert missing == set(), f"{name}: not drawn: {sorted(missing)}"
    assert "email_launch_notice" in found["launch_gate"]["drawn"]
