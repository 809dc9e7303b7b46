"""Data stores, data objects' associations and activities' io specifications have no runtime effect in
Launch Gate (docs/design.md, "The diagram contract"): the spec is built without them.

SpiffWorkflow gives them meaning Launch Gate does not: it refuses a data store without a registered
implementation, a data output association moves a task-data key of the data object's id into the
workflow's data objects (and fails when the task has no such key — a form's data lives under its
document), and an activity's ioSpecification demands its inputs and outputs in the task data. The
stored text keeps them all; the launch page draws them."""

from __future__ import annotations

from copy import deepcopy

from lxml import etree

_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_INERT = (
    f"{_BPMN}dataStore",
    f"{_BPMN}dataStoreReference",
    f"{_BPMN}dataInputAssociation",
    f"{_BPMN}dataOutputAssociation",
)
_IO = f"{_BPMN}ioSpecification"


def without_inert_data(root: etree._Element) -> etree._Element:
    """The document without data stores, data associations and the io specifications of activities
    (a process's own stays: call activities map data by it), from a copy when there are any."""
    if next(root.iter(*_INERT), None) is None and not _activity_io(root):
        return root
    copied = deepcopy(root)
    for element in [*copied.iter(*_INERT), *_activity_io(copied)]:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    return copied


def _activity_io(root: etree._Element) -> list[etree._Element]:
    found = []
    for io in root.iter(_IO):
        parent = io.getparent()
        if parent is not None and parent.tag != f"{_BPMN}process":
            found.append(io)
    return found
