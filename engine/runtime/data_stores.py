"""Data stores have no runtime effect in Launch Gate: the spec is built without them."""

from __future__ import annotations

from copy import deepcopy

from lxml import etree

_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_STORES = (f"{_BPMN}dataStore", f"{_BPMN}dataStoreReference")
_ASSOCIATIONS = (f"{_BPMN}dataInputAssociation", f"{_BPMN}dataOutputAssociation")
_ENDS = frozenset({f"{_BPMN}sourceRef", f"{_BPMN}targetRef"})


def without_data_stores(root: etree._Element) -> etree._Element:
    """The document without its data stores: Launch Gate accepts them with no runtime effect, and
    SpiffWorkflow refuses a data store that has no registered implementation. Drops every <dataStore>,
    <dataStoreReference> and the data associations that read or write one (from a copy, when there are
    any; the stored text keeps them)."""
    if next(root.iter(*_STORES), None) is None:
        return root
    copied = deepcopy(root)
    stores = {el.get("id") for el in copied.iter(f"{_BPMN}dataStoreReference")}
    doomed = list(copied.iter(*_STORES))
    for association in copied.iter(*_ASSOCIATIONS):
        if {(end.text or "").strip() for end in association if end.tag in _ENDS} & stores:
            doomed.append(association)
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    return copied
