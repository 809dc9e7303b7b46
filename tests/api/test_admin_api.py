"""Administration over the API: users (create, list, roles, disable, password reset) and process versions
(deploy by upload, hardened against bad diagrams), plus the health checks an operator watches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from engine import AuditEventView, WorkflowEngine
from engine.xml_safety import MAX_DIAGRAM_BYTES
from tests.api.conftest import PASSWORDS, ROOT, SignIn

USERS = "/api/v1/users"
PROCESSES = "/api/v1/processes"
BPMN = (ROOT / "bpmn" / "launch_gate.bpmn").read_bytes()
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
NEW_PASSWORD = "a-long-passphrase"
NEW_USER = {
    "username": "lee.support",
    "password": NEW_PASSWORD,
    "roles": ["support_lead"],
    "display_name": "Lee Support",
    "email": "lee@example.com",
}
AuditEvents = Callable[..., list[AuditEventView]]


def _user_id(admin: TestClient, username: str) -> int:
    found = [u["id"] for u in admin.get(USERS).json()["items"] if u["username"] == username]
    assert len(found) == 1, username
    return int(found[0])


SHIPPED_FORMS = sorted((ROOT / "forms" / "launch_gate").glob("*.json"))


def _upload(client: TestClient, data: bytes, name: str = "diagram.bpmn", *, forms: bool = False) -> Any:
    """Upload a diagram; with `forms`, as the launch gate's package (the diagram and its form files)."""
    files = [("file", (name, data, "application/xml"))]
    if forms:
        files += [("file", (p.name, p.read_bytes(), "application/json")) for p in SHIPPED_FORMS]
    return client.post(PROCESSES, files=files)


def _modified_diagram() -> bytes:
    changed = BPMN.replace(b'name="Launch Gate"', b'name="Launch Gate (second edition)"', 1)
    assert changed != BPMN
    return changed


# ------------------------------------------------------------------------------------------- users


def test_user_created_when_admin_posts_valid_user(
    admin_client: TestClient, sign_in: SignIn, audit_events: AuditEvents
) -> None:
    created = admin_client.post(USERS, json=NEW_USER)
    assert created.status_code == 201, created.text
    body = created.json()
    assert {k: body[k] for k in ("username", "roles", "display_name", "email", "active")} == {
        "username": "lee.support",
        "roles": ["support_lead"],
        "display_name": "Lee Support",
        "email": "lee@example.com",
        "active": True,
    }
    assert "password" not in created.text and "hash" not in created.text
    assert admin_client.get(f"{USERS}/{body['id']}").json() == body
    lee = sign_in("lee.support", NEW_PASSWORD)
    assert lee.get("/api/v1/auth/me").json()["user"]["roles"] == ["support_lead"]
    [event] = audit_events(action="user.created", actor_name="ada.admin")
    assert event.after == {"username": "lee.support", "roles": "support_lead", "email": "lee@example.com"}


def test_user_refused_with_409_when_username_taken(admin_client: TestClient) -> None:
    assert admin_client.post(USERS, json=NEW_USER).status_code == 201
    again = admin_client.post(USERS, json={**NEW_USER, "username": "Lee.Support"})
    assert again.status_code == 409
    assert "lee.support" in again.json()["detail"]


INVALID_USERS: list[tuple[dict[str, Any], list[str | int]]] = [
    ({"username": "Bad Name!"}, ["body", "username"]),
    ({"username": "ab"}, ["body", "username"]),
    ({"password": "short"}, ["body", "password"]),
    ({"roles": ["wizard"]}, ["body", "roles", 0]),
    ({"roles": []}, ["body", "roles"]),
    ({"email": "not-an-address"}, ["body", "email"]),
    ({"is_admin": True}, ["body", "is_admin"]),
]


def test_user_refused_with_422_naming_field_when_input_invalid(
    admin_client: TestClient, subtests: pytest.Subtests
) -> None:
    before = admin_client.get(USERS).json()["items"]
    for changes, loc in INVALID_USERS:
        with subtests.test(changes=changes):
            response = admin_client.post(USERS, json={**NEW_USER, **changes})
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert loc in [e["loc"] for e in response.json()["errors"]], response.json()["errors"]
    assert admin_client.get(USERS).json()["items"] == before


def test_users_listed_by_name_when_admin_asks(admin_client: TestClient) -> None:
    admin_client.post(USERS, json=NEW_USER)
    users = admin_client.get(USERS).json()["items"]
    names = [u["username"] for u in users]
    assert names == sorted(names)
    assert {
        "pat.pm",
        "sam.support",
        "max.manager",
        "ann.auditor",
        "ada.admin",
        "olga.pm",
        "lee.support",
    } == set(names)
    assert admin_client.get(f"{USERS}/999999").status_code == 404


def test_roles_take_effect_at_once_when_admin_changes_them(
    admin_client: TestClient, pm_client: TestClient, audit_events: AuditEvents
) -> None:
    pat = _user_id(admin_client, "pat.pm")
    changed = admin_client.patch(f"{USERS}/{pat}", json={"roles": ["support_manager", "pm"]})
    assert changed.status_code == 200
    assert changed.json()["roles"] == ["pm", "support_manager"]
    assert pm_client.get("/api/v1/auth/me").json()["user"]["roles"] == ["pm", "support_manager"]
    admin_client.patch(f"{USERS}/{pat}", json={"roles": ["auditor"]})
    refused = pm_client.post(
        "/api/v1/launches",
        json={"product_name": "Nope", "summary": "Not a PM any more.", "planned_launch_date": "2031-01-01"},
    )
    assert refused.status_code == 403
    [first, second] = audit_events(action="user.roles_set")
    assert first.after is not None and second.after is not None
    assert (first.before, first.after["roles"]) == ({"roles": "pm", "active": True}, "pm,support_manager")
    assert second.after["roles"] == "auditor"


def test_user_update_refused_with_422_when_input_invalid(
    admin_client: TestClient, subtests: pytest.Subtests
) -> None:
    pat = _user_id(admin_client, "pat.pm")
    cases: list[tuple[dict[str, Any], list[str | int]]] = [
        ({"roles": ["wizard"]}, ["body", "roles", 0]),
        ({"roles": []}, ["body", "roles"]),
        ({"active": "maybe"}, ["body", "active"]),
    ]
    for body, loc in cases:
        with subtests.test(body=body):
            response = admin_client.patch(f"{USERS}/{pat}", json=body)
            assert response.status_code == 422
            assert loc in [e["loc"] for e in response.json()["errors"]]
    assert admin_client.get(f"{USERS}/{pat}").json()["roles"] == ["pm"]


def test_sessions_revoked_when_user_disabled(
    admin_client: TestClient, pm_client: TestClient, anon_client: TestClient, audit_events: AuditEvents
) -> None:
    pat = _user_id(admin_client, "pat.pm")
    disabled = admin_client.patch(f"{USERS}/{pat}", json={"active": False})
    assert disabled.status_code == 200 and disabled.json()["active"] is False
    assert pm_client.get("/api/v1/auth/me").status_code == 401
    signing_in = anon_client.post(
        "/api/v1/auth/sign-in", json={"username": "pat.pm", "password": PASSWORDS["pat.pm"]}
    )
    assert signing_in.status_code == 401
    assert admin_client.patch(f"{USERS}/{pat}", json={"active": True}).json()["active"] is True
    assert [e.action for e in audit_events(actor_name="ada.admin") if e.action.startswith("user.")] == [
        "user.disabled",
        "user.enabled",
    ]


def test_disable_refused_with_409_when_admin_disables_self(admin_client: TestClient) -> None:
    ada = _user_id(admin_client, "ada.admin")
    response = admin_client.patch(f"{USERS}/{ada}", json={"active": False})
    assert response.status_code == 409
    assert admin_client.get("/api/v1/auth/me").status_code == 200


def test_unknown_user_not_found_when_updated_or_reset(admin_client: TestClient) -> None:
    assert admin_client.patch(f"{USERS}/999999", json={"active": True}).status_code == 404
    assert (
        admin_client.post(f"{USERS}/999999/password", json={"password": "a-long-passphrase"}).status_code
        == 404
    )


def test_password_reset_revokes_sessions_and_new_password_works(
    admin_client: TestClient, pm_client: TestClient, anon_client: TestClient, audit_events: AuditEvents
) -> None:
    pat = _user_id(admin_client, "pat.pm")
    reset = admin_client.post(f"{USERS}/{pat}/password", json={"password": "a-brand-new-passphrase"})
    assert reset.status_code == 200
    assert pm_client.get("/api/v1/auth/me").status_code == 401

    def sign_in(password: str) -> int:
        response: httpx.Response = anon_client.post(
            "/api/v1/auth/sign-in", json={"username": "pat.pm", "password": password}
        )
        return response.status_code

    assert sign_in(PASSWORDS["pat.pm"]) == 401
    assert sign_in("a-brand-new-passphrase") == 200
    [event] = audit_events(action="user.password_reset")
    assert event.actor == "ada.admin"
    assert "a-brand-new-passphrase" not in str(event)


def test_password_reset_refused_with_422_when_password_short(
    admin_client: TestClient, pm_client: TestClient
) -> None:
    pat = _user_id(admin_client, "pat.pm")
    response = admin_client.post(f"{USERS}/{pat}/password", json={"password": "short"})
    assert response.status_code == 422
    assert ["body", "password"] in [e["loc"] for e in response.json()["errors"]]
    assert pm_client.get("/api/v1/auth/me").status_code == 200


# ------------------------------------------------------------------------------------------- processes


def _gate(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The launch gate's versions (the shipped minor_launch is deployed beside it)."""
    return [v for v in versions if v["process_id"] == "launch_gate"]


def test_process_version_two_deployed_when_admin_uploads_modified_diagram(
    admin_client: TestClient, pm_client: TestClient, audit_events: AuditEvents
) -> None:
    deployed = _upload(admin_client, _modified_diagram(), forms=True)
    assert deployed.status_code == 201, deployed.text
    body = deployed.json()
    assert (body["process_id"], body["version"], body["is_latest"], body["created_by"]) == (
        "launch_gate",
        2,
        True,
        "ada.admin",
    )
    versions = _gate(pm_client.get(PROCESSES).json()["items"])
    assert sorted((v["version"], v["is_latest"]) for v in versions) == [(1, False), (2, True)]
    launch = pm_client.post(
        "/api/v1/launches",
        json={
            "product_name": "On v2",
            "summary": "Runs the new version.",
            "planned_launch_date": "2031-01-01",
        },
    )
    assert launch.json()["process_version"] == 2
    again = _upload(admin_client, _modified_diagram(), forms=True)
    assert again.json()["version"] == 2, "the same content is the same version"
    assert len(_gate(pm_client.get(PROCESSES).json()["items"])) == 2
    deploys = audit_events(action="process.deployed", actor_name="ada.admin")
    assert [e.detail["version"] for e in deploys] == [2]


# fixture -> (element named, words in the message). missing_default_flow.bpmn deploys: a missing default is a
# warning (at run time a gateway with no way out fails the launch with an incident).
REJECTED: dict[str, tuple[str, str]] = {
    "script_task.bpmn": ("run_script", "script tasks are not allowed"),
    "gate_bypass.bpmn": ("go_live", "without passing gate item"),
    "doctype_xxe.bpmn": ("document", "DOCTYPE"),
    "entity_bomb.bpmn": ("document", "DOCTYPE"),
    "prescript.bpmn": ("prepare", "preScript"),
    "timer_and_service.bpmn": ("call_service", "calls no services"),
    "unsafe_expression.bpmn": ("flow_signoff_decision_to_prepare", "function calls are not allowed"),
    # calls a process that is neither in the file nor deployed (tests/engine/test_call_activity.py)
    "calls_deployed.bpmn": ("call_readiness", "neither in this diagram nor deployed"),
    # bounds at deploy (tests/engine/test_bounds.py has the engine side)
    "gateway_loop.bpmn": ("spin_a", "has no wait state"),
    "timer_forever.bpmn": ("cooling_off", "longer than the limit of 5 years"),
    "timer_8000_years.bpmn": ("cooling_off", "longer than the limit of 5 years"),
    "timer_date_year_9999.bpmn": ("cooling_off", "more than 5 years ahead"),
    "hostile_interchange.bpmn": ("minimal_gate_plane", "http://www.w3.org/1999/xhtml' is not allowed"),
}


def test_diagram_rejected_with_400_naming_element_when_unsafe_or_invalid(
    admin_client: TestClient, audit_events: AuditEvents, subtests: pytest.Subtests
) -> None:
    before = admin_client.get(PROCESSES).json()["items"]
    for fixture, (element, words) in REJECTED.items():
        with subtests.test(fixture=fixture):
            response = _upload(admin_client, (FIXTURES / fixture).read_bytes(), fixture)
            assert response.status_code == 400, response.text
            problem = response.json()
            assert problem["type"].endswith("/diagram-rejected")
            named = [e for e in problem["errors"] if e["loc"] == ["body", "file", element]]
            assert named and any(words in e["message"] for e in named), problem["errors"]
    assert admin_client.get(PROCESSES).json()["items"] == before
    assert audit_events(action="process.deployed", actor_name="ada.admin") == []


def test_rejected_list_covers_every_fixture_that_check_rejects() -> None:
    rejected = {p.name for p in FIXTURES.glob("*.bpmn") if WorkflowEngine.check_diagram(p.read_bytes())}
    assert rejected == set(REJECTED)


def test_diagram_refused_with_413_when_one_byte_over_limit(admin_client: TestClient) -> None:
    padded = _modified_diagram() + b"<!--" + b"x" * MAX_DIAGRAM_BYTES + b"-->\n"
    response = _upload(admin_client, padded[: MAX_DIAGRAM_BYTES + 1])
    assert response.status_code == 413
    assert str(MAX_DIAGRAM_BYTES) in response.json()["detail"]
    assert len(_gate(admin_client.get(PROCESSES).json()["items"])) == 1


def test_diagram_accepted_when_exactly_at_size_limit(admin_client: TestClient) -> None:
    body = _modified_diagram()
    filler = MAX_DIAGRAM_BYTES - len(body) - len(b"<!---->\n")
    response = _upload(admin_client, body + b"<!--" + b"x" * filler + b"-->\n", forms=True)
    assert response.status_code == 201, response.text[:300]
    assert response.json()["version"] == 2


def test_diagram_refused_with_400_when_empty_or_not_xml(
    admin_client: TestClient, subtests: pytest.Subtests
) -> None:
    for data in (b"", b"not xml at all", b"<a><b></a>", b"\xff\xfe\x00<"):
        with subtests.test(data=data):
            response = _upload(admin_client, data)
            assert response.status_code == 400
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["detail"]
    assert len(_gate(admin_client.get(PROCESSES).json()["items"])) == 1


def test_diagram_refused_with_422_when_file_field_missing(admin_client: TestClient) -> None:
    response = admin_client.post(PROCESSES, files={"other": ("x.bpmn", BPMN, "application/xml")})
    assert response.status_code == 422
    assert ["body", "file"] in [e["loc"] for e in response.json()["errors"]]


# ------------------------------------------------------------------------------------------- health


def test_health_checks_ok_when_database_migrated(anon_client: TestClient) -> None:
    assert anon_client.get("/healthz").json() == {"status": "ok", "detail": ""}
    ready = anon_client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"


def test_readiness_503_when_database_not_migrated(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    app.state.engine.db.dispose()


def test_package_deployed_as_zip_or_as_several_files_of_one_upload(admin_client: TestClient) -> None:
    import io
    import zipfile

    plain = (FIXTURES / "plain_process.bpmn").read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("plain_process.bpmn", plain)
    zipped = admin_client.post(
        PROCESSES, files={"file": ("package.zip", buffer.getvalue(), "application/zip")}
    )
    assert zipped.status_code == 201, zipped.text
    assert (zipped.json()["process_id"], zipped.json()["version"]) == ("plain_process", 1)
    several = admin_client.post(
        PROCESSES,
        files=[
            (
                "file",
                ("plain_process.bpmn", plain.replace(b'name="Open Beta"', b'name="Open The Beta"'), "x"),
            ),
            ("file", ("notes.json", b"{}", "application/json")),
        ],
    )
    assert several.status_code == 201, several.text
    assert several.json()["version"] == 2


def test_package_with_an_unsafe_member_rejected_with_400_naming_the_file(admin_client: TestClient) -> None:
    import io
    import zipfile

    before = admin_client.get(PROCESSES).json()["items"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("plain_process.bpmn", (FIXTURES / "plain_process.bpmn").read_bytes())
        archive.writestr("../../etc/cron.d/x.json", b"{}")
    response = admin_client.post(PROCESSES, files={"file": ("p.zip", buffer.getvalue(), "application/zip")})
    assert response.status_code == 400, response.text
    assert "the file name leaves the package" in response.text
    assert admin_client.get(PROCESSES).json()["items"] == before


def test_admin_page_deploys_a_package_and_shows_problems_as_bpmn_check_words_them(
    admin_client: TestClient,
) -> None:
    token = str(admin_client.headers.get("X-CSRF-Token", ""))
    hostile = (FIXTURES / "gateway_loop.bpmn").read_bytes()
    refused = admin_client.post(
        "/admin/processes",
        data={"csrf_token": token},
        files={"file": ("gateway_loop.bpmn", hostile, "application/xml")},
        headers={"Origin": str(admin_client.base_url)},
    )
    assert refused.status_code == 400, refused.text
    assert "error: gateway_loop.bpmn: spin_a: the loop spin_a → spin_b has no wait state" in refused.text


def test_raw_diagram_is_served_as_a_download(pm_client: TestClient) -> None:
    from tests.engine.form_examples import VALID_LAUNCH_START

    started = pm_client.post("/api/v1/launches", json=dict(VALID_LAUNCH_START))
    assert started.status_code == 201, started.text
    launch_id = started.json()["id"]
    raw = pm_client.get(f"/launches/{launch_id}/diagram.bpmn")
    assert raw.status_code == 200
    assert raw.headers["content-disposition"] == f'attachment; filename="launch-{launch_id}.bpmn"'


def test_a_called_diagram_is_served_and_shown_for_its_launch_only(
    admin_client: TestClient, pm_client: TestClient
) -> None:
    from tests.engine.form_examples import VALID_LAUNCH_START

    corpus = ROOT / "tests" / "fixtures" / "corpus"
    for name in ("support_readiness", "call_activity_other_diagram"):
        deployed = _upload(admin_client, (corpus / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
        assert deployed.status_code == 201, deployed.text
    start = {**VALID_LAUNCH_START, "process": "call_activity_other_diagram"}
    launch_id = pm_client.post("/api/v1/launches", json=start).json()["id"]
    part = pm_client.get(f"/launches/{launch_id}/diagram.bpmn", params={"part": "support_readiness"})
    assert part.status_code == 200, part.text
    assert 'process id="support_readiness"' in part.text
    assert part.headers["content-disposition"] == (
        f'attachment; filename="launch-{launch_id}-support_readiness.bpmn"'
    )
    page = pm_client.get(f"/launches/{launch_id}", params={"part": "support_readiness"})
    assert page.status_code == 200
    assert "?part=support_readiness" in page.text and "Back to the launch's process" in page.text
    # a process this launch does not call (or its own) is no part of it
    other = pm_client.post("/api/v1/launches", json=dict(VALID_LAUNCH_START)).json()["id"]
    for launch, name in ((other, "support_readiness"), (launch_id, "call_activity_other_diagram")):
        missing = pm_client.get(f"/launches/{launch}/diagram.bpmn", params={"part": name})
        assert missing.status_code == 404, missing.text
        assert "calls no process" in missing.text and name in missing.text
        assert pm_client.get(f"/launches/{launch}", params={"part": name}).status_code == 404


def test_diagram_without_the_form_files_it_names_rejected_naming_each(admin_client: TestClient) -> None:
    response = _upload(admin_client, _modified_diagram())
    assert response.status_code == 400
    named = {e["loc"][-1] for e in response.json()["errors"] if "is not in the package" in e["message"]}
    assert {"draft_proposal", "go_live", "start_launch"} <= named
    assert len(_gate(admin_client.get(PROCESSES).json()["items"])) == 1
