"""One pagination style on every JSON list under /api/v1 (api/pagination.py): `offset` and `limit` query
parameters, the `PageRead` envelope, a stable order. The list routes are read from the OpenAPI document, so a
new list route in another style (a plain array, a cursor, another envelope) fails here without being named."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.pagination import DEFAULT_LIMIT, MAX_LIMIT
from api.settings import Settings

ENVELOPE = {"items", "total", "offset", "limit", "next_offset"}
PAGING = {"offset", "limit"}
OTHER_STYLES = {"cursor", "after", "after_sequence", "page", "page_size", "per_page", "before"}


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def _json_reads(document: dict[str, Any]) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Every GET under /api/v1 answering JSON: its operation and its resolved 200 schema."""
    found = {}
    for path, operations in document["paths"].items():
        get = operations.get("get")
        content = (get or {}).get("responses", {}).get("200", {}).get("content", {})
        if path.startswith("/api/v1/") and "application/json" in content:
            found[path] = (get, _resolve(document, content["application/json"]["schema"]))
    return found


def _is_list(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" or "items" in schema.get("properties", {})


def test_every_list_route_takes_offset_and_limit_and_answers_the_page_envelope() -> None:
    settings = Settings(_env_file=None, database_url="sqlite:////nonexistent/unused.db")
    document = create_app(settings).openapi()
    lists = {p: r for p, r in _json_reads(document).items() if _is_list(r[1])}
    named = {"/api/v1/launches", "/api/v1/tasks/inbox", "/api/v1/audit/events", "/api/v1/users"}
    assert named | {"/api/v1/launches/{launch_id}/history", "/api/v1/auth/tokens"} <= set(lists)
    parameters = {}
    for path, (operation, schema) in lists.items():
        assert schema.get("type") == "object", f"{path} answers a bare array, not a page"
        assert set(schema["properties"]) == ENVELOPE, path
        assert ENVELOPE - {"next_offset"} <= set(schema["required"]), path
        assert schema["properties"]["items"]["type"] == "array", path
        query = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "query"}
        assert set(query) >= PAGING, f"{path} does not page by offset and limit"
        assert not OTHER_STYLES & set(query), f"{path} pages in another style: {OTHER_STYLES & set(query)}"
        parameters[path] = {n: (query[n]["schema"], query[n].get("description")) for n in PAGING}
    assert len({repr(p) for p in parameters.values()}) == 1, "the paging parameters differ between lists"
    assert f"default {DEFAULT_LIMIT}, at most {MAX_LIMIT}" in parameters["/api/v1/launches"]["limit"][1]


def _walk(client: TestClient, path: str, **params: Any) -> tuple[list[Any], list[dict[str, Any]]]:
    """Every item of a list, two at a time, and the pages seen."""
    items: list[Any] = []
    pages: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        response = client.get(path, params={**params, "offset": offset, "limit": 2})
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        items.extend(page["items"])
        offset = page["next_offset"]
    return items, pages


def _start(pm_client: TestClient, name: str) -> str:
    body = {"product_name": name, "summary": "Paged.", "planned_launch_date": "2031-06-01"}
    response = pm_client.post("/api/v1/launches", json=body)
    assert response.status_code == 201, response.text
    launch_id: str = response.json()["id"]
    return launch_id


def test_paging_by_two_returns_every_launch_exactly_once_in_the_list_order(
    pm_client: TestClient,
) -> None:
    started = {_start(pm_client, f"Paged product {n}") for n in range(5)}
    walked, pages = _walk(pm_client, "/api/v1/launches", q="Paged product")
    whole = pm_client.get("/api/v1/launches", params={"q": "Paged product", "limit": 200}).json()
    assert [launch["id"] for launch in walked] == [launch["id"] for launch in whole["items"]]
    assert {launch["id"] for launch in walked} == started and len(walked) == 5
    assert [(p["offset"], p["limit"], len(p["items"]), p["total"]) for p in pages] == [
        (0, 2, 2, 5),
        (2, 2, 2, 5),
        (4, 2, 1, 5),
    ]


def test_paging_by_two_returns_comments_history_and_audit_events_once_in_order(
    pm_client: TestClient, auditor_client: TestClient
) -> None:
    launch_id = _start(pm_client, "Commented product")
    bodies = [f"note {n}" for n in range(5)]
    path = f"/api/v1/launches/{launch_id}/comments"
    posted = [pm_client.post(path, json={"body": b}).json()["id"] for b in bodies]
    comments, _ = _walk(pm_client, path)
    assert [c["id"] for c in comments] == posted
    history, _ = _walk(auditor_client, f"/api/v1/launches/{launch_id}/history")
    assert [e["after"]["body"] for e in history if e["action"] == "comment.added"] == bodies
    sequences = [e["sequence"] for e in history]
    assert sequences == sorted(set(sequences))
    events, pages = _walk(auditor_client, "/api/v1/audit/events", launch_id=launch_id, action="comment.added")
    assert [e["after"]["body"] for e in events] == bodies
    assert [p["next_offset"] for p in pages] == [2, 4, None]


def test_paging_by_two_returns_each_task_of_the_inbox_once(pm_client: TestClient) -> None:
    for n in range(3):
        _start(pm_client, f"Inbox product {n}")
    walked, _ = _walk(pm_client, "/api/v1/tasks/inbox")
    whole = pm_client.get("/api/v1/tasks/inbox", params={"limit": 200}).json()
    assert [t["id"] for t in walked] == [t["id"] for t in whole["items"]]
    assert len(walked) == whole["total"] >= 4  # the demo launch's draft and one per new launch


def test_empty_offset_and_limit_mean_the_defaults_on_every_list_route(
    app: FastAPI, admin_client: TestClient, auditor_client: TestClient
) -> None:
    reads = [p for p, (_, s) in _json_reads(app.openapi()).items() if _is_list(s) and "{" not in p]
    assert "/api/v1/users" in reads and "/api/v1/audit/events" in reads
    for path in reads:
        client = auditor_client if path.startswith("/api/v1/audit") else admin_client
        empty = client.get(path, params={"offset": "", "limit": ""})
        assert empty.status_code == 200, (path, empty.text[:300])
        assert (empty.json()["offset"], empty.json()["limit"]) == (0, DEFAULT_LIMIT), path
        assert empty.json() == client.get(path).json(), path


def test_paging_values_out_of_range_are_refused_with_422_naming_the_parameter(
    admin_client: TestClient, auditor_client: TestClient
) -> None:
    for client, path in ((admin_client, "/api/v1/users"), (auditor_client, "/api/v1/audit/events")):
        for params in ({"limit": 0}, {"limit": MAX_LIMIT + 1}, {"offset": -1}, {"limit": "many"}):
            response = client.get(path, params=params)
            assert response.status_code == 422, (path, params)
            assert response.json()["errors"][0]["loc"][:2] == ["query", next(iter(params))], (path, params)


def test_an_offset_past_the_end_is_an_empty_last_page(admin_client: TestClient) -> None:
    page = admin_client.get("/api/v1/users", params={"offset": 1000}).json()
    assert (page["items"], page["offset"], page["next_offset"]) == ([], 1000, None)
    assert page["total"] >= 5  # the demo users
