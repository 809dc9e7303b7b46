"""Audit exports and the audit event list, as an auditor meets them.

Exports are complete (every event up to and including the export's own `audit.exported` row), verify
offline with `launchgate audit verify-export`, name the sequence number of a tampered or missing line, and
the CSV neutralises cells a spreadsheet would run as a formula. Only auditors and admins may read the trail.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.exports import EXPORT_COLUMNS
from engine import AuditEventView

AUDIT = "/api/v1/audit"
FORMULAS = ('=HYPERLINK("http://x")', "+1", "-2", "@cmd", "'quoted")
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
PLANNED = "2031-03-03"
runner = CliRunner()
AuditEvents = Callable[..., list[AuditEventView]]


@pytest.fixture
def scene(pm_client: TestClient, anon_client: TestClient) -> dict[str, Any]:
    """A launch named like a formula, comments that start like formulas (each sent with a request id that
    does too: request ids are top-level CSV cells), and a failed sign-in whose user name is a formula."""
    launch = pm_client.post(
        "/api/v1/launches",
        json={"product_name": FORMULAS[0], "summary": "@SUM(1+1)", "planned_launch_date": PLANNED},
    )
    assert launch.status_code == 201, launch.text
    launch_id = launch.json()["id"]
    for text in FORMULAS:
        added = pm_client.post(
            f"/api/v1/launches/{launch_id}/comments", json={"body": text}, headers={"X-Request-ID": text}
        )
        assert added.status_code == 201, added.text
    failed = anon_client.post(
        "/api/v1/auth/sign-in", json={"username": "=cmd|' /c calc'!a0", "password": "x"}
    )
    assert failed.status_code == 401
    return {"launch_id": launch_id}


def _verify(auditor: TestClient) -> dict[str, Any]:
    result = auditor.get(f"{AUDIT}/verify")
    assert result.status_code == 200
    body: dict[str, Any] = result.json()
    return body


def _verify_offline(path: Path) -> Any:
    return runner.invoke(cli, ["audit", "verify-export", str(path)])


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_csv_export_neutralises_formula_cells_when_values_start_like_formulas(
    scene: dict[str, Any], auditor_client: TestClient
) -> None:
    response = auditor_client.get(f"{AUDIT}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    header, *rows = _csv_rows(response.text)
    assert header == list(EXPORT_COLUMNS)
    dangerous = [cell for row in rows for cell in row if cell.startswith(DANGEROUS_START)]
    assert dangerous == []
    request_ids = [row[EXPORT_COLUMNS.index("request_id")] for row in rows]
    for text in FORMULAS:
        assert "'" + text in request_ids
    actors = [row[EXPORT_COLUMNS.index("actor")] for row in rows]
    assert "'=cmd|' /c calc'!a0" in actors
    started = next(r for r in rows if r[EXPORT_COLUMNS.index("launch_id")] == scene["launch_id"])
    assert json.loads(started[EXPORT_COLUMNS.index("after")])["product_name"] == FORMULAS[0]


def test_exports_complete_and_verify_offline_when_written_to_files(
    scene: dict[str, Any], auditor_client: TestClient, tmp_path: Path
) -> None:
    csv_text = auditor_client.get(f"{AUDIT}/export.csv").text
    csv_count = _verify(auditor_client)["count"]
    jsonl_text = auditor_client.get(f"{AUDIT}/export.jsonl").text
    jsonl_count = _verify(auditor_client)["count"]

    rows = [dict(zip(EXPORT_COLUMNS, row, strict=True)) for row in _csv_rows(csv_text)[1:]]
    assert len(rows) == csv_count
    assert [int(r["sequence"]) for r in rows] == list(range(1, csv_count + 1))
    assert rows[-1]["action"] == "audit.exported" and json.loads(rows[-1]["detail"])["format"] == "csv"

    lines = [json.loads(line) for line in jsonl_text.splitlines()]
    assert jsonl_count == csv_count + 1
    assert [e["sequence"] for e in lines] == list(range(1, jsonl_count + 1))
    assert lines[-1]["action"] == "audit.exported" and lines[-1]["detail"]["format"] == "jsonl"
    assert lines[-1]["actor"] == "ann.auditor"
    comments = [e["after"]["body"] for e in lines if e["action"] == "comment.added"]
    assert comments == list(FORMULAS), "JSON lines carry the values exactly as stored"

    for name, text, count in (("audit.csv", csv_text, csv_count), ("audit.jsonl", jsonl_text, jsonl_count)):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        result = _verify_offline(path)
        assert result.exit_code == 0, result.output
        assert result.output.startswith(f"OK: {count} events, head ")


def test_offline_verify_names_launch_and_position_when_jsonl_line_edited_or_deleted(
    scene: dict[str, Any], auditor_client: TestClient, tmp_path: Path
) -> None:
    lines = auditor_client.get(f"{AUDIT}/export.jsonl").text.splitlines()
    events = [json.loads(line) for line in lines]
    target = next(e for e in events if e["action"] == "comment.added")
    index = events.index(target)

    edited = dict(target, after={**target["after"], "body": "nothing to see"})
    path = tmp_path / "edited.jsonl"
    path.write_text("\n".join([*lines[:index], json.dumps(edited), *lines[index + 1 :]]) + "\n")
    result = _verify_offline(path)
    assert result.exit_code == 1
    where = f"launch {target['launch_id']}, event #{target['chain_position']}"
    assert f"BROKEN: {where} (sequence {target['sequence']}) was altered" in result.output

    path = tmp_path / "deleted.jsonl"
    path.write_text("\n".join([*lines[:index], *lines[index + 1 :]]) + "\n")
    result = _verify_offline(path)
    assert result.exit_code == 1
    assert f"BROKEN: {where} is missing" in result.output


def test_offline_verify_names_sequence_when_csv_cell_edited(
    scene: dict[str, Any], auditor_client: TestClient, tmp_path: Path
) -> None:
    header, *rows = _csv_rows(auditor_client.get(f"{AUDIT}/export.csv").text)
    actor = EXPORT_COLUMNS.index("actor")
    victim = next(r for r in rows if r[EXPORT_COLUMNS.index("action")] == "launch.started")
    victim[actor] = "someone.else"
    buffer = io.StringIO()
    csv.writer(buffer).writerows([header, *rows])
    path = tmp_path / "edited.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    result = _verify_offline(path)
    assert result.exit_code == 1
    assert f"(sequence {victim[0]}) was altered" in result.output


def test_export_audited_with_format_when_auditor_exports(
    auditor_client: TestClient, admin_client: TestClient, audit_events: AuditEvents
) -> None:
    assert auditor_client.get(f"{AUDIT}/export.csv").status_code == 200
    assert admin_client.get(f"{AUDIT}/export.jsonl", params={"action": "launch.started"}).status_code == 200
    exported = audit_events(action="audit.exported")
    assert [(e.actor, e.role, e.detail["format"], e.detail["filters"]) for e in exported] == [
        ("ann.auditor", "auditor", "csv", {}),
        ("ada.admin", "admin", "jsonl", {"action": "launch.started"}),
    ]


def test_audit_refused_when_caller_is_not_auditor_or_admin(
    pm_client: TestClient,
    support_client: TestClient,
    manager_client: TestClient,
    anon_client: TestClient,
    audit_events: AuditEvents,
) -> None:
    paths = ["export.csv", "export.jsonl", "events", "verify"]
    for path in paths:
        for client in (pm_client, support_client, manager_client):
            response = client.get(f"{AUDIT}/{path}")
            assert response.status_code == 403, path
            assert response.headers["content-type"] == "application/problem+json"
        assert anon_client.get(f"{AUDIT}/{path}").status_code == 401, path
    assert audit_events(action="audit.exported") == []
    denied = audit_events(action="request.denied")
    assert [e.actor for e in denied] == ["pat.pm", "sam.support", "max.manager"] * len(paths)


def test_audit_events_filtered_when_launch_actor_action_or_time_given(
    scene: dict[str, Any], auditor_client: TestClient, support_client: TestClient
) -> None:
    launch_id = scene["launch_id"]
    support_client.post(f"/api/v1/launches/{launch_id}/comments", json={"body": "From support."})

    def events(**params: Any) -> list[dict[str, Any]]:
        response = auditor_client.get(f"{AUDIT}/events", params={"limit": 200, **params})
        assert response.status_code == 200, response.text
        assert response.json()["next_offset"] is None, "every event fits on one page"
        found: list[dict[str, Any]] = response.json()["items"]
        return found

    everything = events()
    of_launch = events(launch_id=launch_id)
    assert [e["action"] for e in of_launch] == ["launch.started"] + ["comment.added"] * (len(FORMULAS) + 1)
    assert all(e["launch_id"] == launch_id for e in of_launch)
    assert [e["action"] for e in events(actor="sam.support")] == ["auth.signed_in", "comment.added"]
    assert [e["actor"] for e in events(action="auth.sign_in_failed")] == ["=cmd|' /c calc'!a0"]
    assert events(actor="nobody.at.all") == []

    started, *comments = of_launch
    since, until = comments[0]["occurred_at"], comments[-1]["occurred_at"]
    window = [e["sequence"] for e in events(since=since, until=until)]
    assert window == [e["sequence"] for e in everything if since <= e["occurred_at"] < until]
    assert {c["sequence"] for c in comments[:-1]} <= set(window)
    assert started["sequence"] not in window and comments[-1]["sequence"] not in window
    assert all(e["sequence"] > started["sequence"] for e in events(since=comments[0]["occurred_at"]))
    assert all(e["sequence"] < comments[-1]["sequence"] for e in events(until=comments[-1]["occurred_at"]))
    both = events(launch_id=launch_id, actor="pat.pm", action="comment.added")
    assert [e["after"]["body"] for e in both] == list(FORMULAS)

    page = auditor_client.get(f"{AUDIT}/events", params={"offset": 3, "limit": 2}).json()
    assert [e["sequence"] for e in page["items"]] == [everything[3]["sequence"], everything[4]["sequence"]]
    assert (page["total"], page["offset"], page["limit"], page["next_offset"]) == (len(everything), 3, 2, 5)


def test_audit_events_refused_with_422_when_filter_is_not_iso_time(auditor_client: TestClient) -> None:
    for value in ("yesterday", "1700000000", "2030-03-04T09:00:00"):  # the last one has no zone
        response = auditor_client.get(f"{AUDIT}/events", params={"since": value})
        assert response.status_code == 422, value
        assert response.json()["errors"][0]["loc"][:2] == ["query", "since"]


def test_launch_bundle_downloads_and_verifies_offline_with_the_exported_public_key(
    scene: dict[str, Any],
    auditor_client: TestClient,
    pm_client: TestClient,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from api.audit_settings import get_audit_settings

    key_file, public_file = tmp_path / "audit.key", tmp_path / "audit.pub"
    made = runner.invoke(cli, ["audit", "keygen", "--out", str(key_file)])
    assert made.exit_code == 0, made.output
    assert "public key (base64): " in made.output and "BEGIN PUBLIC KEY" in made.output
    assert key_file.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("LAUNCHGATE_AUDIT_KEY_FILE", str(key_file))
    get_audit_settings.cache_clear()
    try:
        exported = runner.invoke(cli, ["audit", "public-key", "--out", str(public_file)])
        assert exported.exit_code == 0, exported.output
        url = auditor_client.app.state.settings.database_url  # type: ignore[attr-defined]
        signed = runner.invoke(cli, ["audit", "checkpoint", "--database-url", url])
        assert signed.exit_code == 0, signed.output
        assert signed.output.startswith("checkpoint 1: ")
    finally:
        monkeypatch.delenv("LAUNCHGATE_AUDIT_KEY_FILE")
        get_audit_settings.cache_clear()
    launch_id = scene["launch_id"]

    response = auditor_client.get(f"{AUDIT}/launches/{launch_id}/bundle")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert pm_client.get(f"{AUDIT}/launches/{launch_id}/bundle").status_code == 403
    assert auditor_client.get(f"{AUDIT}/launches/no-such-launch/bundle").status_code == 404

    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(response.content)
    result = runner.invoke(cli, ["audit", "verify-bundle", str(bundle), "--public-key", str(public_file)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"OK: launch {launch_id}: ")
    broken = tmp_path / "broken.zip"
    broken.write_bytes(response.content[:-200])
    result = runner.invoke(cli, ["audit", "verify-bundle", str(broken), "--public-key", str(public_file)])
    assert result.exit_code == 1
    assert "BROKEN: " in result.output

    full = auditor_client.get(f"{AUDIT}/bundle")
    assert full.status_code == 200
    bundle.write_bytes(full.content)
    result = runner.invoke(cli, ["audit", "verify-bundle", str(bundle), "--public-key", str(public_file)])
    assert result.exit_code == 0, result.output
    assert "the whole audit trail" in result.output


def test_launch_page_links_the_audit_bundle_for_auditors_only(
    scene: dict[str, Any], auditor_client: TestClient, admin_client: TestClient, pm_client: TestClient
) -> None:
    link = f'href="/api/v1/audit/launches/{scene["launch_id"]}/bundle"'
    for client, shown in ((auditor_client, True), (admin_client, True), (pm_client, False)):
        page = client.get(f"/launches/{scene['launch_id']}")
        assert page.status_code == 200
        assert (link in page.text) is shown
