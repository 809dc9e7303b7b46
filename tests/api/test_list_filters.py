"""Empty filter parameters mean "any" on every list route and page (api/filters.py): a filter form left at
"Any" sends `?q=&status=&blocked=`, which lists what no parameter lists, never a 422. The API routes are
read from the OpenAPI document, so a new list route is covered without being named here."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

PAGING = {"offset", "limit"}  # empty means the default: tests/api/test_pagination.py


def _filtered_reads(app: FastAPI) -> list[tuple[str, list[str]]]:
    found = []
    for path, operations in app.openapi()["paths"].items():
        get = operations.get("get")
        if get is None or "{" in path:
            continue
        names = [
            p["name"] for p in get.get("parameters", []) if p["in"] == "query" and p["name"] not in PAGING
        ]
        if names:
            found.append((path, names))
    return found


def _body(response: Any) -> Any:
    return response.json() if response.headers["content-type"].startswith("application/json") else None


def test_every_list_route_lists_everything_when_its_filters_are_sent_empty(
    app: FastAPI, admin_client: TestClient, auditor_client: TestClient
) -> None:
    reads = _filtered_reads(app)
    assert {"/api/v1/launches", "/api/v1/tasks", "/api/v1/audit/events"} <= {p for p, _ in reads}
    for path, names in reads:
        client = auditor_client if path.startswith("/api/v1/audit") else admin_client
        plain = client.get(path)
        empty = client.get(path, params=dict.fromkeys(names, ""))
        assert (plain.status_code, empty.status_code) == (200, 200), (path, empty.text[:300])
        if not path.startswith("/api/v1/audit/export"):  # an export is itself audited: bodies differ
            assert _body(empty) == _body(plain), path


def test_list_filters_still_refuse_values_that_are_not_empty_and_not_valid(admin_client: TestClient) -> None:
    for params in ({"status": "bogus"}, {"blocked": "maybe"}, {"status": " "}):
        response = admin_client.get("/api/v1/launches", params=params)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["loc"][0] == "query"


def test_launch_list_page_filters_by_product_name_when_selects_are_left_at_any(
    pm_client: TestClient,
) -> None:
    pm_client.post(
        "/api/v1/launches",
        json={"product_name": "Quokka Ledger", "summary": "A ledger.", "planned_launch_date": "2031-06-01"},
    )
    page = pm_client.get("/launches", params={"q": "okka led", "status": "", "blocked": ""})
    assert page.status_code == 200, page.text[:300]
    assert "Quokka Ledger" in page.text
    assert "Smart Invoices" not in page.text  # the demo launch
    everything = pm_client.get("/launches", params={"q": "", "status": "", "blocked": "", "mine": ""})
    assert "Quokka Ledger" in everything.text and "Smart Invoices" in everything.text


def test_other_list_pages_answer_200_when_their_parameters_are_sent_empty(
    auditor_client: TestClient, pm_client: TestClient
) -> None:
    assert (
        auditor_client.get("/audit", params={"launch_id": "", "actor": "", "action": ""}).status_code == 200
    )
    assert pm_client.get("/inbox", params={"sort": ""}).status_code == 200
