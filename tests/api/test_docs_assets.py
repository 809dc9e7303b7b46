"""The API docs and the diagram viewer come from our own origin: no CDN, no outside favicon."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.resources import VENDOR_DIR


@pytest.mark.parametrize(
    ("path", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")]
)
def test_docs_pages_load_everything_from_our_own_origin(
    anon_client: TestClient, path: str, script: str
) -> None:
    if not (VENDOR_DIR / "VERSIONS").is_file():
        pytest.skip("tools/vendor-assets has not been run")
    page = anon_client.get(path)
    assert page.status_code == 200
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url: ?["']([^"']+)["']""", page.text)
    found = [u for pair in urls for u in pair if u]
    assert any(u.endswith(script) for u in found), found
    assert all(u.startswith("/") and not u.startswith("//") for u in found), found
    assert "favicon.svg" in page.text
    for url in found:
        if url.startswith("/static/"):
            assert anon_client.get(url).status_code == 200, url


def test_the_diagram_viewer_and_the_favicon_are_served(anon_client: TestClient) -> None:
    assert anon_client.get("/static/app/favicon.svg").status_code == 200
    viewer = anon_client.get("/static/vendor/bpmn-js/bpmn-navigated-viewer.production.min.js")
    assert viewer.status_code == (200 if (VENDOR_DIR / "VERSIONS").is_file() else 404)
