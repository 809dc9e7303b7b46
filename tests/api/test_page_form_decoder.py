"""The task page's form decoder (api/web/formdata.py) on hostile input: whatever keys, values and buttons a
post carries, decoding either succeeds or raises FormActionError (the page's 400), never anything else;
and over HTTP a hostile post answers a 4xx (or the page again), never a 5xx, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.web.formdata import (
    FormAction,
    FormActionError,
    decode_action,
    parse,
    with_spare_rows,
    without_row,
)
from api.web.formtree import FormField, build_form
from engine import AuditEventView
from tests.api.conftest import ROOT

SCHEMAS = sorted((ROOT / "forms").glob("*/*-schema.json"))
SPECS: dict[str, tuple[FormField, ...]] = {
    p.name: build_form(
        json.loads(Path(p).read_text()),
        json.loads(Path(p).with_name(p.name.replace("-schema", "-uischema")).read_text()),
    )
    for p in SCHEMAS
}
NAMES = sorted({s.key for specs in SPECS.values() for s in specs} | {"known_risks", "problem"})
SUBS = sorted({sub.key for specs in SPECS.values() for s in specs for sub in s.children})

# Keys and values shaped like the page's own (`field`, `field-<i>`, `field-<i>-<sub>`) and anything at all.
_index = st.one_of(st.integers(0, 10_000).map(str), st.text(max_size=5))
_key = st.one_of(
    st.sampled_from(NAMES),
    st.builds(lambda n, i: f"{n}-{i}", st.sampled_from(NAMES), _index),
    st.builds(lambda n, i, s: f"{n}-{i}-{s}", st.sampled_from(NAMES), _index, st.sampled_from(SUBS)),
    st.text(max_size=30),
)
_action = st.one_of(
    st.none(),
    st.sampled_from(["submit", "save_draft", "add:", "remove:", "remove::", "add:known_risks:1"]),
    st.builds(lambda n: f"add:{n}", st.one_of(st.sampled_from(NAMES), st.text(max_size=10))),
    st.builds(
        lambda n, i: f"remove:{n}:{i}",
        st.one_of(st.sampled_from(NAMES), st.text(max_size=10)),
        st.one_of(_index, st.sampled_from(["²", "٣", "-1", "1e3", " 1", "99999"])),
    ),
    st.text(max_size=40),
)
_form = st.dictionaries(_key, st.text(max_size=40), max_size=25)


@settings(max_examples=500, deadline=None)
@given(raw=_action)
def test_decode_action_returns_a_button_or_raises_form_action_error(raw: str | None) -> None:
    try:
        action = decode_action(raw)
    except FormActionError:
        return
    assert isinstance(action, FormAction)
    if action.kind == "remove":
        assert 0 <= action.index < 10_000
        assert raw == f"remove:{action.name}:{action.index}"


def test_decode_action_refuses_unicode_digits_when_row_index_is_not_ascii() -> None:
    for raw in ("remove:known_risks:²", "remove:known_risks:٣", "remove:known_risks:", "add:x:1", "delete"):
        with pytest.raises(FormActionError):
            decode_action(raw)
    assert decode_action("remove:known_risks:2") == FormAction("remove", "known_risks", 2)
    assert decode_action(None) == FormAction("submit")


@settings(max_examples=300, deadline=None)
@given(schema=st.sampled_from(sorted(SPECS)), form=_form, raw=_action)
def test_decoding_any_post_never_raises_when_fields_and_buttons_are_hostile(
    schema: str, form: dict[str, str], raw: str | None
) -> None:
    specs = SPECS[schema]
    data = parse(specs, {key: [value] for key, value in form.items()})
    assert set(data) <= {s.key for s in specs}
    try:
        action = decode_action(raw)
    except FormActionError:
        return
    shown = without_row(specs, data, action.name, action.index) if action.kind == "remove" else data
    with_spare_rows(specs, shown, add=action.name if action.kind == "add" else None)


def _proposal_task(client: TestClient) -> dict[str, Any]:
    inbox: list[dict[str, Any]] = client.get("/api/v1/tasks/inbox").json()["items"]
    [task] = [t for t in inbox if t["bpmn_id"] == "draft_proposal"]
    return task


def test_task_page_answers_400_and_writes_nothing_when_row_index_is_superscript(
    pm_client: TestClient, audit_events: Any
) -> None:
    task = _proposal_task(pm_client)
    before: list[AuditEventView] = audit_events()
    response = pm_client.post(
        f"/tasks/{task['id']}",
        data={"csrf_token": pm_client.headers["X-CSRF-Token"], "action": "remove:known_risks:²"},
        follow_redirects=False,
    )
    assert response.status_code == 400, response.text
    assert "button this page does not have" in response.text
    assert len(audit_events()) == len(before)
    assert pm_client.get(f"/api/v1/tasks/{task['id']}").json()["status"] == "ready"


def test_task_page_never_answers_5xx_when_post_is_hostile(pm_client: TestClient) -> None:
    task = _proposal_task(pm_client)
    csrf = pm_client.headers["X-CSRF-Token"]

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(form=_form, raw=_action)
    def post(form: dict[str, str], raw: str | None) -> None:
        fields = {k: v for k, v in form.items() if k not in {"csrf_token", "action"}}
        if raw is not None:
            fields["action"] = raw
        response = pm_client.post(
            f"/tasks/{task['id']}", data={**fields, "csrf_token": csrf}, follow_redirects=False
        )
        assert response.status_code < 500, (fields, response.text[:500])

    post()
