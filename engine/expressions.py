"""The only evaluator for gateway conditions and gate pass rules.

Expressions use a small, Python-looking grammar, checked against an allow-list when they are parsed:
literals, task-data names (``proposal_review.decision`` means ``data["proposal_review"]["decision"]``),
comparisons, ``in``/``not in``, ``is None``, ``and``/``or``/``not`` and list/tuple/set literals.
Nothing is ever handed to ``eval``/``exec``/``compile``: the checked syntax tree is turned into a tiny
private tree of our own, and :func:`evaluate` walks that. Parsing is bounded (source length, node count,
nesting depth), so evaluation is too: an expression cannot loop, allocate much, or call anything.

Form rules (engine.forms) parse with ``functions=True``, which adds four fixed functions and nothing else
(see :data:`RULE_FUNCTIONS`): ``len(x)``, ``lower(x)``, ``column(rows, "field")`` (the values of one field
of every row: the membership operator for "a value of another row", as in ``row.parent in
column(categories, "name")``) and ``ancestors(rows, "key", "parent", start)`` (the chain of parent keys from
``start``, for tree rules). Each is linear in the size of its arguments; none calls anything given to it.
Gateway conditions and gate rules parse without them: there a call is refused as before.
"""

from __future__ import annotations

import ast
import functools
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from engine.errors import ExpressionEvaluationError, UnsafeExpressionError
from engine.rule_functions import RULE_FUNCTIONS, FunctionError

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_MAGNITUDE",
    "MAX_NODES",
    "MAX_SEQUENCE_ITEMS",
    "MAX_SOURCE_LENGTH",
    "MAX_STRING_LENGTH",
    "RULE_FUNCTIONS",
    "Expression",
    "evaluate",
    "evaluate_condition",
    "parse_expression",
]

MAX_SOURCE_LENGTH: Final = 2000
MAX_STRING_LENGTH: Final = 1000
MAX_INT_MAGNITUDE: Final = 10**18
MAX_SEQUENCE_ITEMS: Final = 100
MAX_DEPTH: Final = 32
MAX_NODES: Final = 200
_CACHE_SIZE: Final = 1024


# --- the private evaluation tree --------------------------------------------------------------------------
# Only these node types exist after parsing; evaluate() knows nothing else, so an unchecked Python AST node
# can never reach evaluation.


@dataclass(frozen=True)
class _Const:
    value: str | int | float | bool | None


@dataclass(frozen=True)
class _Lookup:
    path: tuple[str, ...]  # ("a", "b", "c") for a.b.c


@dataclass(frozen=True)
class _Sequence:
    kind: type[list[Any]] | type[tuple[Any, ...]] | type[set[Any]]
    items: tuple[str | int | float | bool | None, ...]


@dataclass(frozen=True)
class _Not:
    operand: _Node


@dataclass(frozen=True)
class _BoolOp:
    is_and: bool
    operands: tuple[_Node, ...]


@dataclass(frozen=True)
class _Compare:
    left: _Node
    ops: tuple[str, ...]  # keys of _COMPARATORS
    comparators: tuple[_Node, ...]


@dataclass(frozen=True)
class _Call:
    name: str  # a key of RULE_FUNCTIONS
    args: tuple[_Node, ...]


_Node = _Const | _Lookup | _Sequence | _Not | _BoolOp | _Compare | _Call


def _contains(container: Any, item: Any) -> bool:
    return item in container


def _not_contains(container: Any, item: Any) -> bool:
    return item not in container


# symbol -> (Python AST operator type, function(left, right))
_COMPARATORS: Final[dict[str, tuple[type[ast.cmpop], Callable[[Any, Any], Any]]]] = {
    "==": (ast.Eq, operator.eq),
    "!=": (ast.NotEq, operator.ne),
    "<": (ast.Lt, operator.lt),
    "<=": (ast.LtE, operator.le),
    ">": (ast.Gt, operator.gt),
    ">=": (ast.GtE, operator.ge),
    "in": (ast.In, lambda left, right: _contains(right, left)),
    "not in": (ast.NotIn, lambda left, right: _not_contains(right, left)),
    "is": (ast.Is, operator.is_),
    "is not": (ast.IsNot, operator.is_not),
}
_SYMBOL_BY_OP: Final[dict[type[ast.cmpop], str]] = {op: symbol for symbol, (op, _) in _COMPARATORS.items()}


@dataclass(frozen=True)
class Expression:
    """A parsed, checked expression. Build it with :func:`parse_expression`.

    ``names`` holds every (dotted) task-data name the expression reads, e.g. ``"proposal_review.decision"``.
    Equality and hashing use ``source`` and ``names`` only.
    """

    source: str
    names: frozenset[str]
    _tree: _Node = field(repr=False, compare=False, kw_only=True)


# --- parsing ----------------------------------------------------------------------------------------------

# Friendly descriptions of Python constructs the grammar leaves out.
_FORBIDDEN: Final[dict[type[ast.AST], str]] = {
    ast.Call: "function calls are not allowed",
    ast.Subscript: "subscripts (indexing and slicing) are not allowed",
    ast.Slice: "subscripts (indexing and slicing) are not allowed",
    ast.BinOp: "arithmetic and other binary operators are not allowed",
    ast.Lambda: "lambda functions are not allowed",
    ast.ListComp: "comprehensions are not allowed",
    ast.SetComp: "comprehensions are not allowed",
    ast.DictComp: "comprehensions are not allowed",
    ast.GeneratorExp: "generator expressions are not allowed",
    ast.JoinedStr: "f-strings are not allowed",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Starred: "starred expressions are not allowed",
    ast.NamedExpr: "assignment expressions (:=) are not allowed",
    ast.IfExp: "conditional expressions (x if c else y) are not allowed",
    ast.Dict: "dict literals are not allowed",
    ast.Await: "await is not allowed",
    ast.Yield: "yield is not allowed",
    ast.YieldFrom: "yield is not allowed",
}


class _Checker:
    """Walks a Python AST under the allow-list and builds the private tree."""

    def __init__(self, source: str, *, functions: bool = False) -> None:
        self._source = source
        self._parsed_lines = source.strip().splitlines() or [""]
        self._functions = functions
        self.names: set[str] = set()

    # -- messages

    def _where(self, node: ast.AST) -> str:
        lineno: int = getattr(node, "lineno", 1)
        col_offset: int = getattr(node, "col_offset", 0)
        line = self._parsed_lines[lineno - 1] if 0 < lineno <= len(self._parsed_lines) else ""
        # col_offset counts UTF-8 bytes; report characters, 1-based.
        column = len(line.encode("utf-8")[:col_offset].decode("utf-8", errors="ignore")) + 1
        return _position(self._source, lineno, column)

    def _reject(self, node: ast.AST, what: str) -> UnsafeExpressionError:
        return UnsafeExpressionError(f"{what} ({self._where(node)})")

    def _check_identifier(self, node: ast.AST, identifier: str) -> None:
        if identifier.startswith("_"):
            raise self._reject(node, f"names starting with '_' are not allowed: {identifier!r}")

    # -- the walk

    def check(self, node: ast.AST, depth: int) -> _Node:
        if depth > MAX_DEPTH:
            raise self._reject(node, f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.BoolOp):
            return self._bool_op(node, depth)
        if isinstance(node, ast.UnaryOp):
            return self._unary_op(node, depth)
        if isinstance(node, ast.Compare):
            return self._compare(node, depth)
        if isinstance(node, ast.Constant):
            return _Const(self._constant(node))
        if isinstance(node, ast.Name | ast.Attribute):
            return self._lookup(node, depth)
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            return self._sequence(node, depth)
        if isinstance(node, ast.Call) and self._functions:
            return self._call(node, depth)
        what = _FORBIDDEN.get(type(node), f"{type(node).__name__} expressions are not allowed")
        raise self._reject(node, what)

    def _bool_op(self, node: ast.BoolOp, depth: int) -> _Node:
        if not isinstance(node.op, ast.And | ast.Or):  # pragma: no cover - Python has no other BoolOp
            raise self._reject(node, "this boolean operator is not allowed")
        operands = tuple(self.check(value, depth + 1) for value in node.values)
        return _BoolOp(is_and=isinstance(node.op, ast.And), operands=operands)

    def _unary_op(self, node: ast.UnaryOp, depth: int) -> _Node:
        if isinstance(node.op, ast.Not):
            return _Not(self.check(node.operand, depth + 1))
        if isinstance(node.op, ast.USub):
            return _Const(self._negative_number(node))
        symbol = "~" if isinstance(node.op, ast.Invert) else "unary +"
        raise self._reject(node, f"the {symbol} operator is not allowed")

    def _negative_number(self, node: ast.UnaryOp) -> int | float:
        operand = node.operand
        if isinstance(operand, ast.Constant) and type(operand.value) in (int, float):
            value = self._constant(operand)
            assert isinstance(value, int | float)
            return -value
        raise self._reject(node, "unary minus is only allowed directly on a number")

    def _compare(self, node: ast.Compare, depth: int) -> _Node:
        left = self.check(node.left, depth + 1)
        ops: list[str] = []
        previous = node.left
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            symbol = _SYMBOL_BY_OP.get(type(op))
            if symbol is None:  # pragma: no cover - all ten Python comparison operators are listed
                raise self._reject(node, f"the {type(op).__name__} comparison is not allowed")
            if symbol in ("is", "is not") and not (
                _is_singleton_constant(previous) or _is_singleton_constant(comparator)
            ):
                raise self._reject(
                    comparator, f"'{symbol}' may only compare with None, True or False; use == or != instead"
                )
            ops.append(symbol)
            previous = comparator
        comparators = tuple(self.check(c, depth + 1) for c in node.comparators)
        return _Compare(left=left, ops=tuple(ops), comparators=comparators)

    def _constant(self, node: ast.Constant) -> str | int | float | bool | None:
        value: object = node.value
        if value is None or isinstance(value, bool | float):
            return value
        if isinstance(value, int):
            if abs(value) > MAX_INT_MAGNITUDE:
                raise self._reject(node, "integer literal is too large (the limit is 10**18)")
            return value
        if isinstance(value, str):
            if len(value) > MAX_STRING_LENGTH:
                raise self._reject(
                    node,
                    f"string literal is {len(value)} characters long; the limit is {MAX_STRING_LENGTH}",
                )
            return value
        raise self._reject(node, f"{type(value).__name__} literals are not allowed")

    def _lookup(self, node: ast.Name | ast.Attribute, depth: int) -> _Node:
        parts: list[str] = []
        current: ast.expr = node
        while isinstance(current, ast.Attribute):
            if depth + len(parts) >= MAX_DEPTH:  # each `.name` is one more level of nesting
                raise self._reject(
                    node, f"the expression is nested too deeply (more than {MAX_DEPTH} levels)"
                )
            self._check_identifier(current, current.attr)
            parts.append(current.attr)
            current = current.value
        if not isinstance(current, ast.Name):
            raise self._reject(node, "attribute access is only allowed on task-data names (like a.b.c)")
        self._check_identifier(current, current.id)
        if not isinstance(current.ctx, ast.Load):  # pragma: no cover - only walrus targets store in eval mode
            raise self._reject(current, "assigning to names is not allowed")
        parts.append(current.id)
        path = tuple(reversed(parts))
        self.names.add(".".join(path))
        return _Lookup(path)

    def _call(self, node: ast.Call, depth: int) -> _Node:
        known = ", ".join(sorted(RULE_FUNCTIONS))
        if not isinstance(node.func, ast.Name):
            raise self._reject(node, f"only these functions may be called, by name: {known}")
        if node.func.id not in RULE_FUNCTIONS:
            raise self._reject(node, f"unknown function {node.func.id!r}; the functions are {known}")
        name = node.func.id
        function = RULE_FUNCTIONS[name]
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise self._reject(node, f"{name}() takes plain positional arguments only")
        if len(node.args) != function.arity:
            raise self._reject(node, f"{name}() takes {function.arity} argument(s), not {len(node.args)}")
        args = tuple(self.check(arg, depth + 1) for arg in node.args)
        for position in function.field_names:
            arg = args[position]
            if not (isinstance(arg, _Const) and isinstance(arg.value, str) and arg.value):
                raise self._reject(
                    node.args[position], f"argument {position + 1} of {name}() must be a field name in quotes"
                )
        return _Call(name=name, args=args)

    def _sequence(self, node: ast.List | ast.Tuple | ast.Set, depth: int) -> _Node:
        if len(node.elts) > MAX_SEQUENCE_ITEMS:
            raise self._reject(
                node, f"the literal has {len(node.elts)} items; the limit is {MAX_SEQUENCE_ITEMS}"
            )
        items: list[str | int | float | bool | None] = []
        for element in node.elts:
            item = self.check(element, depth + 1)
            if not isinstance(item, _Const):
                raise self._reject(element, "list, tuple and set literals may only hold literal values")
            items.append(item.value)
        kind: type[list[Any]] | type[tuple[Any, ...]] | type[set[Any]]
        if isinstance(node, ast.List):
            kind = list
        elif isinstance(node, ast.Tuple):
            kind = tuple
        else:
            kind = set
        return _Sequence(kind=kind, items=tuple(items))


def _position(source: str, lineno: int, column: int) -> str:
    """Describe a 1-based (line, column) of the stripped source as a place in the original source."""
    lead = source[: len(source) - len(source.lstrip())]
    lineno += lead.count("\n")
    if lineno == lead.count("\n") + 1:  # the first parsed line starts after the leading whitespace
        column += len(lead) - (lead.rfind("\n") + 1)
    if "\n" in source.rstrip():
        return f"line {lineno}, column {column}"
    return f"column {column}"


def _is_singleton_constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, bool))


def parse_expression(source: str, *, functions: bool = False) -> Expression:
    """Parse and check ``source``. Raises :class:`UnsafeExpressionError` naming what is wrong and where.

    ``functions=True`` (form rules only) allows calls to the fixed :data:`RULE_FUNCTIONS`."""
    if not isinstance(source, str):
        raise UnsafeExpressionError(f"an expression must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_LENGTH:
        raise UnsafeExpressionError(
            f"the expression is {len(source)} characters long; the limit is {MAX_SOURCE_LENGTH}"
        )
    if not source.strip():
        raise UnsafeExpressionError("the expression is empty")
    return _parse_cached(source, functions)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _parse_cached(source: str, functions: bool) -> Expression:
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        where = _position(source, exc.lineno or 1, exc.offset) if exc.offset else "at the end"
        raise UnsafeExpressionError(f"syntax error: {exc.msg} ({where})") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # e.g. NUL characters, absurd nesting
        raise UnsafeExpressionError(f"the expression cannot be parsed: {exc}") from None

    node_count = sum(1 for node in ast.walk(tree.body) if isinstance(node, ast.expr))
    if node_count > MAX_NODES:
        raise UnsafeExpressionError(
            f"the expression is too complex ({node_count} parts; the limit is {MAX_NODES})"
        )
    checker = _Checker(source, functions=functions)
    checked = checker.check(tree.body, depth=1)
    return Expression(source=source, names=frozenset(checker.names), _tree=checked)


# --- evaluation -------------------------------------------------------------------------------------------


def evaluate(expression: Expression, data: Mapping[str, Any]) -> Any:
    """Evaluate a parsed expression against task data.

    Raises :class:`ExpressionEvaluationError` for an unknown name or key, a lookup into something that is not
    a mapping, or a comparison between values that cannot be compared.
    """
    return _Evaluator(expression.source, data).run(expression._tree)


def evaluate_condition(expression: Expression, data: Mapping[str, Any]) -> bool:
    """Evaluate ``expression`` and require a true/false result."""
    result = evaluate(expression, data)
    if not isinstance(result, bool):
        raise ExpressionEvaluationError(
            f"condition {expression.source!r} gave {type(result).__name__}, expected true/false"
        )
    return result


class _Evaluator:
    def __init__(self, source: str, data: Mapping[str, Any]) -> None:
        self._source = source
        self._data = data

    def _error(self, message: str) -> ExpressionEvaluationError:
        return ExpressionEvaluationError(f"{message} in expression {self._source!r}")

    def run(self, node: _Node) -> Any:
        if isinstance(node, _Const):
            return node.value
        if isinstance(node, _Lookup):
            return self._lookup(node.path)
        if isinstance(node, _Sequence):
            return node.kind(node.items)
        if isinstance(node, _Not):
            return not self.run(node.operand)
        if isinstance(node, _BoolOp):
            return self._bool_op(node)
        if isinstance(node, _Call):
            return self._call(node)
        return self._compare(node)

    def _call(self, node: _Call) -> Any:
        args = [self.run(arg) for arg in node.args]
        try:
            return RULE_FUNCTIONS[node.name].apply(*args)
        except FunctionError as exc:
            raise self._error(f"{node.name}(): {exc}") from None

    def _lookup(self, path: tuple[str, ...]) -> Any:
        current: Any = self._data
        for index, key in enumerate(path):
            if not isinstance(current, Mapping):
                parent = repr(".".join(path[:index])) if index else "the task data"
                raise self._error(
                    f"cannot look up {key!r} in {parent}: it is {type(current).__name__}, not a mapping"
                )
            try:
                current = current[key]
            except KeyError:
                if index == 0:
                    raise self._error(f"unknown name {key!r}") from None
                parent = ".".join(path[:index])
                raise self._error(f"{parent!r} has no key {key!r}") from None
        return current

    def _bool_op(self, node: _BoolOp) -> Any:
        result: Any = None
        for operand in node.operands:
            result = self.run(operand)
            if bool(result) is not node.is_and:  # `and` stops at a falsy value, `or` at a truthy one
                return result
        return result

    def _compare(self, node: _Compare) -> Any:
        left = self.run(node.left)
        result: Any = True
        for symbol, comparator in zip(node.ops, node.comparators, strict=True):
            right = self.run(comparator)
            function = _COMPARATORS[symbol][1]
            try:
                result = function(left, right)
            except (TypeError, RecursionError) as exc:
                raise self._error(
                    f"cannot compare {type(left).__name__} {symbol} {type(right).__name__} ({exc})"
                ) from None
            if not result:
                return result
            left = right
        return result
