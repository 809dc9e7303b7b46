"""Reading a (checked) form schema: following local $refs, finding a field's schema and title."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

JsonObject = Mapping[str, Any]
DEFS_PREFIX: Final = "#/$defs/"
_EMPTY: Final[JsonObject] = {}


def resolve(root: JsonObject, node: object) -> JsonObject:
    """``node`` with its local ``$ref`` followed (the referring schema's own keywords win). Refs to refs are
    followed a bounded number of times; anything unreadable gives an empty schema."""
    if not isinstance(node, Mapping):
        return _EMPTY
    current: JsonObject = node
    for _ in range(16):
        ref = current.get("$ref")
        if not isinstance(ref, str) or not ref.startswith(DEFS_PREFIX):
            return current
        defs = root.get("$defs")
        target = defs.get(ref[len(DEFS_PREFIX) :]) if isinstance(defs, Mapping) else None
        if not isinstance(target, Mapping):
            return {k: v for k, v in current.items() if k != "$ref"}
        current = {**target, **{k: v for k, v in current.items() if k != "$ref"}}
    return current


def types_of(node: JsonObject) -> frozenset[str]:
    """The declared JSON types of a schema (``type`` as a string or a list; empty when undeclared)."""
    declared = node.get("type")
    if isinstance(declared, str):
        return frozenset((declared,))
    if isinstance(declared, list):
        return frozenset(t for t in declared if isinstance(t, str))
    return frozenset()


def properties_of(root: JsonObject, node: JsonObject) -> Mapping[str, JsonObject]:
    """The declared properties of an object schema, each resolved."""
    props = node.get("properties")
    if not isinstance(props, Mapping):
        return {}
    return {str(name): resolve(root, prop) for name, prop in props.items()}


def items_of(root: JsonObject, node: JsonObject) -> JsonObject:
    return resolve(root, node.get("items"))


def child(root: JsonObject, node: JsonObject, part: str | int) -> JsonObject | None:
    """The schema of ``part`` (a property name or a list index) inside ``node``; None when undeclared."""
    if isinstance(part, int):
        return items_of(root, node) if "items" in node else None
    props = node.get("properties")
    if isinstance(props, Mapping) and part in props:
        return resolve(root, props[part])
    extra = node.get("additionalProperties")
    if isinstance(extra, Mapping):
        return resolve(root, extra)
    return None


def schema_at(root: JsonObject, path: Sequence[str | int]) -> JsonObject | None:
    """The schema of the value at ``path`` (names and indexes) in a submission; None when undeclared."""
    node: JsonObject | None = resolve(root, root)
    for part in path:
        if node is None:
            return None
        node = child(root, node, part)
    return node


def title_of(node: JsonObject | None, name: str | int) -> str:
    """A field's title: its schema's ``title``, else its name made readable."""
    if node is not None and isinstance(node.get("title"), str) and node["title"].strip():
        return str(node["title"]).strip()
    return str(name).replace("_", " ").strip().capitalize() if isinstance(name, str) else str(name)


def _declares(node: JsonObject | None, name: str) -> bool:
    props = node.get("properties") if node is not None else None
    return isinstance(props, Mapping) and name in props


def field_label(root: JsonObject, path: Sequence[str | int]) -> str:
    """How a message names the field at ``path``: its title, inside its list and row when nested, e.g.
    ``FAQ entries, row 2, Answer`` or ``Channels, entry 3``."""
    parts: list[str] = []
    node: JsonObject | None = resolve(root, root)
    for index, part in enumerate(path):
        parent = node
        node = child(root, parent, part) if parent is not None else None
        if isinstance(part, int):
            is_row = node is not None and ("object" in types_of(node) or "properties" in node)
            parts.append(f"{'row' if is_row else 'entry'} {part + 1}")
        elif (node is None and index == len(path) - 1) or not _declares(parent, part):
            parts.append(part)  # an extra field, or a key of a map: named as written
        else:
            parts.append(title_of(node, part))
    return ", ".join(parts)
