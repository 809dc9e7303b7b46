"""The functions form rules may call (engine.expressions with ``functions=True``): a fixed list, each
linear in the size of its arguments, none calling anything it is given."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

__all__ = ["RULE_FUNCTIONS", "FunctionError", "RuleFunction"]


class FunctionError(Exception):
    """A rule function was given values it does not work on."""


def _len(value: Any) -> int:
    if isinstance(value, str | list | tuple | set | frozenset | Mapping):
        return len(value)
    raise FunctionError(f"cannot take the length of {type(value).__name__}")


def _lower(value: Any) -> Any:
    """Case-folded text; a list of texts gives the list of case-folded texts; None stays None."""
    if value is None:
        return None
    if isinstance(value, str):
        return value.casefold()
    if isinstance(value, list | tuple):
        return [item.casefold() if isinstance(item, str) else item for item in value]
    raise FunctionError(f"cannot lower-case {type(value).__name__}")


def _rows(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list | tuple):
        raise FunctionError(f"expected a list of rows, got {type(value).__name__}")
    return [row for row in value if isinstance(row, Mapping)]


def _column(rows: Any, name: str) -> list[Any]:
    """The value of field ``name`` in every row (None where a row lacks it)."""
    return [row.get(name) for row in _rows(rows)]


def _ancestors(rows: Any, key: str, parent: str, start: Any) -> list[Any]:
    """Keys met following ``parent`` links from ``start`` (``start`` first), stopping at a key that is no
    row's, at None, or at the first key met twice. At most one step per row: linear, always ends."""
    parent_of: dict[Any, Any] = {}
    for row in _rows(rows):
        value = row.get(key)
        if isinstance(value, str | int) and value not in parent_of:
            parent_of[value] = row.get(parent)
    chain: list[Any] = []
    seen: set[Any] = set()
    node = start
    while isinstance(node, str | int) and node in parent_of and node not in seen:
        chain.append(node)
        seen.add(node)
        node = parent_of[node]
    return chain


@dataclass(frozen=True)
class RuleFunction:
    """One function of the rule grammar: its arity, which arguments must be quoted field names."""

    arity: int
    apply: Callable[..., Any]
    field_names: tuple[int, ...] = ()


RULE_FUNCTIONS: Final[Mapping[str, RuleFunction]] = MappingProxyType(
    {
        "len": RuleFunction(1, _len),
        "lower": RuleFunction(1, _lower),
        "column": RuleFunction(2, _column, field_names=(1,)),
        "ancestors": RuleFunction(4, _ancestors, field_names=(1, 2)),
    }
)
"""The functions form rules may call (``parse_expression(..., functions=True)``)."""
