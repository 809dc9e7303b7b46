"""Task pages over HTTP (in-process): the generic renderer is the default, a process's own template for a
task is honoured, a review starts blank, and what the page decoder makes of posted fields."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from jinja2 import ChoiceLoader, FileSystemLoader

import api.web.templating as templating
from api.demo import demo_forms
from api.web.formdata import parse, with_spare_rows, without_row
from api.web.formtree import anchor, build_form

PLANNED = date(2031, 8, 4)


def _start(client: TestClient, name: str) -> str:
    response = client.post(
        "/api/v1/launches",
        json={"product_name": name, "summary": "Pages.", "planned_launch_date": str(PLANNED)},
    )
    assert response.status_code == 201, response.text
    launch_id: str = response.json()["id"]
    return launch_id


def _open(client: TestClient, launch_id: str, bpmn_id: str) -> str:
    tasks = client.get(f"/api/v1/launches/{launch_id}").json()["open_tasks"]
    [task_id] = [t["id"] for t in tasks if t["bpmn_id"] == bpmn_id]
    return str(task_id)


def _complete(client: TestClient, launch_id: str, bpmn_id: str, data: dict[str, Any]) -> None:
    response = client.post(f"/api/v1/tasks/{_open(client, launch_id, bpmn_id)}/complete", json={"data": data})
    assert response.status_code == 200, response.text


def test_task_page_uses_process_template_when_one_is_shipped_for_the_task(
    pm_client: TestClient, support_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch_id = _start(pm_client, "Custom template")
    _complete(pm_client, launch_id, "draft_proposal", demo_forms(PLANNED)["draft_proposal"])
    task_id = _open(support_client, launch_id, "review_proposal")
    generic = support_client.get(f"/tasks/{task_id}")
    assert generic.status_code == 200
    assert 'name="decision"' in generic.text and "custom-review-marker" not in generic.text

    custom = tmp_path / "tasks" / "launch_gate" / "review_proposal.html"
    custom.parent.mkdir(parents=True)
    custom.write_text(
        '{% extends "tasks/_base.html" %}\n'
        '{% block fields %}<p id="custom-review-marker">Our own review form</p>{{ super() }}{% endblock %}\n'
        "{% block submit_label %}Sign it off{% endblock %}\n"
    )
    env = templating.ENV.overlay(loader=ChoiceLoader([FileSystemLoader(tmp_path), templating.ENV.loader]))  # type: ignore[list-item]
    monkeypatch.setattr(templating, "ENV", env)
    page = support_client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert '<p id="custom-review-marker">Our own review form</p>' in page.text
    assert ">Sign it off</button>" in page.text
    assert 'name="decision"' in page.text  # super(): the generic fields are still drawn


def test_second_review_round_starts_blank_when_first_requested_changes(
    pm_client: TestClient, support_client: TestClient
) -> None:
    forms = demo_forms(PLANNED)
    launch_id = _start(pm_client, "Second round")
    _complete(pm_client, launch_id, "draft_proposal", forms["draft_proposal"])
    changes = {**forms["review_proposal"], "decision": "request_changes", "comment": "Explain the opt-out."}
    _complete(support_client, launch_id, "review_proposal", changes)
    _complete(pm_client, launch_id, "revise_proposal", forms["revise_proposal"])
    task_id = _open(support_client, launch_id, "review_proposal")
    assert support_client.get(f"/api/v1/tasks/{task_id}").json()["current_data"] == {}
    page = support_client.get(f"/tasks/{task_id}").text
    assert "Explain the opt-out." not in page
    assert "checked" not in page.split('id="field-decision"')[1].split("</fieldset>")[0]


def test_task_page_is_read_only_when_reader_may_not_complete_it(
    pm_client: TestClient, auditor_client: TestClient
) -> None:
    launch_id = _start(pm_client, "Read only page")
    task_id = _open(pm_client, launch_id, "draft_proposal")
    page = auditor_client.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    assert 'id="read-only"' in page.text
    assert f'action="/tasks/{task_id}"' not in page.text
    assert "<textarea" not in page.text.split('class="task-form"')[1].split("</section>")[0]


def test_new_launch_page_draws_the_start_form_of_the_process(pm_client: TestClient) -> None:
    page = pm_client.get("/launches/new")
    assert page.status_code == 200
    for name in ("product_name", "summary", "planned_launch_date"):
        assert f'name="{name}"' in page.text
    assert 'placeholder="Smart Invoices"' in page.text  # from the start form's UI schema


SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "title": "Name", "maxLength": 50},
        "size": {"type": "string", "enum": ["s", "m"]},
        "count": {"type": "integer"},
        "box": {
            "type": "object",
            "properties": {
                "rows": {
                    "type": "array",
                    "maxItems": 5,
                    "items": {"type": "object", "properties": {"x": {"type": "string", "maxLength": 5}}},
                }
            },
        },
        "tags": {"type": "array", "maxItems": 3, "items": {"type": "string", "enum": ["a", "b"]}},
    },
}


def test_decoder_reads_nested_rows_choices_and_skips_blank_optional_choices() -> None:
    fields = build_form(SCHEMA, {"ui:order": ["box", "*"]})
    assert [f.key for f in fields] == ["box", "name", "size", "count", "tags"]
    posted = {
        "name": ["Kim"],
        "size": [""],
        "count": ["12"],
        "box-rows-0-x": ["one"],
        "box-rows-1-x": [""],
        "box-rows-7-x": ["two"],
        "box-rows-99999-x": ["ignored"],
        "tags": ["b", "zzz"],
        "unknown-3-x": ["ignored"],
    }
    data = parse(fields, posted)
    assert data == {"name": "Kim", "count": 12, "box": {"rows": [{"x": "one"}, {"x": "two"}]}, "tags": ["b"]}
    assert without_row(fields, data, "box-rows", 0)["box"] == {"rows": [{"x": "two"}]}
    assert len(with_spare_rows(fields, {}, add="box-rows")["box"]["rows"]) == 2
    assert anchor(fields, "name") == "name"
    assert anchor(fields, "box-rows-1-x") == "box-rows-1-x"
    assert anchor(fields, "box-rows") == "field-box-rows"
    assert anchor(fields, "tags") == "field-tags"


SHIPPED_FORMS = Path(__file__).resolve().parents[2] / "forms" / "launch_gate"


@pytest.mark.parametrize("schema_file", sorted(p.name for p in SHIPPED_FORMS.glob("*-schema.json")))
def test_every_shipped_form_renders_every_field_with_a_label(schema_file: str) -> None:
    schema = json.loads((SHIPPED_FORMS / schema_file).read_text())
    ui = json.loads((SHIPPED_FORMS / schema_file.replace("-schema", "-uischema")).read_text())
    fields = build_form(schema, ui)
    macro = '{% from "render.html" import form_fields %}{{ form_fields(fields, values, {}) }}'
    html = templating.ENV.from_string(macro).render(fields=fields, values=with_spare_rows(fields, {}))
    assert [f.key for f in fields] == [n for n in ui["ui:order"] if n in schema["properties"]]
    for field in fields:
        assert f'id="field-{field.key}"' in html
        assert field.title in html


def test_task_api_gives_ui_schema_documents_and_who_may_act(
    pm_client: TestClient, support_client: TestClient, auditor_client: TestClient
) -> None:
    launch_id = _start(pm_client, "API documents")
    _complete(pm_client, launch_id, "draft_proposal", demo_forms(PLANNED)["draft_proposal"])
    task_id = _open(support_client, launch_id, "review_proposal")
    body = support_client.get(f"/api/v1/tasks/{task_id}").json()
    assert body["ui_schema"]["decision"]["ui:widget"] == "radio"
    [doc] = body["documents"]
    assert (doc["name"], doc["task_id"], doc["author"]) == ("proposal", "draft_proposal", "pat.pm")
    assert doc["data"]["summary"] == demo_forms(PLANNED)["draft_proposal"]["summary"]
    assert "problem" in doc["form"]["json_schema"]["properties"]
    assert (body["refusal"], body["may_claim"]) == (None, True)
    seen = auditor_client.get(f"/api/v1/tasks/{task_id}").json()
    assert seen["refusal"] == "this task is for the support_lead role, which you do not hold"
    assert seen["may_claim"] is False
