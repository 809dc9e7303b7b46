"""The earlier documents a task shows beside its form: the document it reviews (`reviews`) and those of the
tasks its `showDocuments` property names, each with the form it was written in, so any renderer can label
it; only documents that were written on this launch's path are shown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from engine.db import repository as repo
from engine.domain import DocumentView, FormView
from engine.model import ProcessModel, UserTaskModel

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from engine.forms.package import FormSet


@dataclass(frozen=True)
class DocumentSource:
    task: UserTaskModel  # the task whose form the document is shown with
    author: str | None


def sources(
    session: Session, launch_id: str, model: ProcessModel, spec: UserTaskModel
) -> list[DocumentSource]:
    """Which documents `spec` shows, in order (the reviewed one first), each once, with its last author."""
    shown: list[UserTaskModel] = []
    if spec.reviews:
        writer = next(
            (t for t in model.tasks.values() if t.document == spec.reviews and t.id != spec.id), None
        )
        if writer is not None:
            shown.append(writer)
    shown.extend(model.tasks[i] for i in spec.shows if i in model.tasks)
    found: dict[str, DocumentSource] = {}
    for task in shown:
        if task.document in found or (task.document == spec.document and task.id == spec.id):
            continue
        writers = [t.id for t in model.tasks.values() if t.document == task.document]
        found[task.document] = DocumentSource(task, repo.last_author(session, launch_id, writers))
    return list(found.values())


def document_views(
    found: list[DocumentSource], forms: FormSet, data: Mapping[str, Any]
) -> tuple[DocumentView, ...]:
    views = []
    for source in found:
        value = data.get(source.task.document)
        if not isinstance(value, Mapping) or not value:
            continue  # not written on this launch's path (yet)
        form = forms.form_for(source.task.id)
        schema = form.json_schema()
        shown = FormView(title=form.title, json_schema=schema, ui_schema=dict(form.ui_schema))
        for title, document in _per_instance(source.task.title, value, schema):
            views.append(
                DocumentView(
                    name=source.task.document,
                    task_id=source.task.id,
                    title=title,
                    author=source.author,
                    form=shown,
                    data=dict(document),
                )
            )
    return tuple(views)


def _per_instance(
    title: str, value: Mapping[str, Any], schema: Mapping[str, Any]
) -> list[tuple[str, Mapping[str, Any]]]:
    """A multi-instance task leaves its document by instance label ({"EMEA": {...}, "APAC": {...}}): one
    view per instance, titled with its label. A form never has such keys (it refuses unknown fields), so
    a document whose keys are no fields of its form and whose values are documents is one of those."""
    fields = schema.get("properties") or {}
    if all(k not in fields and isinstance(v, Mapping) for k, v in value.items()):
        return [(f"{title} — {label}", doc) for label, doc in value.items() if doc]
    return [(title, value)]
