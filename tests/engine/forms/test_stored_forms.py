"""Forms stored with a process version: deploy writes them, migration 0008 writes them for versions deployed
before forms were files (the v1 diagram), and loading a version's forms needs nothing but its row."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, select

from engine import Database, upgrade_to_head
from engine.db.migrate import alembic_config
from engine.db.models import ProcessVersionRecord
from engine.errors import ValidationFailedError, WorkflowStuckError
from engine.forms import PLAIN_FORM, FormRef
from engine.forms.diagram import form_refs_in, read_form_files
from engine.forms.stored import dump_forms, load_stored_forms
from engine.specs import content_hash
from tests.engine.form_examples import VALID_FORM_DATA, VALID_LAUNCH_START
from tests.engine.forms.shipped import DIAGRAM, FORMS_DIR

ROOT = Path(__file__).resolve().parents[3]
V1 = ROOT / "tests" / "fixtures" / "state" / "launch_gate_0.1.0.bpmn"
TODAY = date(2026, 1, 15)


def test_dumped_forms_load_back_to_the_same_forms() -> None:
    files = read_form_files(FORMS_DIR)
    refs = form_refs_in(DIAGRAM.read_bytes())

    forms = load_stored_forms(dump_forms({**files, "unused.json": b"{}"}, refs), version_id=1)

    assert set(forms.forms) == {r.element_id for r in refs}
    for task_id, data in VALID_FORM_DATA.items():
        assert forms.form_for(task_id).validate(copy.deepcopy(data), today=TODAY, subject="t") == data


def test_a_version_without_stored_forms_is_an_incident_not_plain_forms() -> None:
    with pytest.raises(WorkflowStuckError, match="process version 7 has no stored forms"):
        load_stored_forms(None, version_id=7)
    with pytest.raises(WorkflowStuckError, match="unreadable"):
        load_stored_forms("[]", version_id=7)
    broken = dump_forms(
        {"x.json": b'{"type": "object", "properties": {"l": {"type": "array"}}}'}, [FormRef("t", "x.json")]
    )
    with pytest.raises(WorkflowStuckError, match="do not pass the form check"):
        load_stored_forms(broken, version_id=7)


def test_migration_gives_a_v1_version_the_forms_its_tasks_had(tmp_path: Path) -> None:
    database = Database.from_url(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        config = alembic_config(database.db_engine)
        with database.db_engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0006_inbox_indexes")
            xml = V1.read_text()
            connection.execute(
                insert(ProcessVersionRecord.__table__).values(  # type: ignore[arg-type]
                    process_id="launch_gate",
                    version=1,
                    content_hash=content_hash(xml.encode()),
                    bpmn_xml=xml,
                    created_at=datetime(2026, 11, 1, tzinfo=UTC),
                    created_by="system",
                )
            )
        upgrade_to_head(database.db_engine)
        with database.db_engine.connect() as connection:
            stored = connection.execute(select(ProcessVersionRecord.forms)).scalar_one()
    finally:
        database.dispose()

    forms = load_stored_forms(stored, version_id=1)

    assert set(forms.forms) == set(VALID_FORM_DATA) | {"start_launch"}
    assert form_refs_in(V1.read_bytes()) == []  # the v1 diagram names no form files itself
    for task_id, data in VALID_FORM_DATA.items():
        assert forms.form_for(task_id).validate(copy.deepcopy(data), today=TODAY, subject="t") == data
    assert forms.form_for("start_launch").validate(VALID_LAUNCH_START, today=TODAY, subject="s")
    with pytest.raises(ValidationFailedError):
        forms.form_for("go_live").validate({"confirm": False}, today=TODAY, subject="t")
    assert forms.form_for("not_a_v1_task") is PLAIN_FORM
