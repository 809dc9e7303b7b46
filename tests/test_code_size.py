"""Size as a signal, kept: no module in engine/ over 500 lines, no function over 60 lines (ruff's C901,
PLR0912 and PLR0915 in pyproject.toml keep complexity, branches and statements down; ruff has no rule for
lengths, so this test keeps them). An exception names its reason; one that is no longer needed fails."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parent.parent / "engine"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60

# path -> why it may be longer (none left: engine/specs.py, the last one, is the package engine/specs/).
MODULE_EXCEPTIONS: dict[str, str] = {}
FUNCTION_EXCEPTIONS = {
    ("db/migrations/versions/0001_initial.py", "upgrade"): "a migration is written once, never edited",
}


def _modules() -> list[Path]:
    return sorted(p for p in ENGINE.rglob("*.py") if p.is_file())


def test_engine_modules_stay_under_500_lines() -> None:
    too_long = {
        str(p.relative_to(ENGINE)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert set(too_long) - set(MODULE_EXCEPTIONS) == set(), too_long


def test_engine_functions_stay_under_60_lines() -> None:
    too_long = {}
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long[(str(path.relative_to(ENGINE)), node.name)] = length
    assert set(too_long) - set(FUNCTION_EXCEPTIONS) == set(), too_long


def test_the_exceptions_are_still_needed() -> None:
    """An exception whose file got short enough must be removed from the lists above."""
    lines = {str(p.relative_to(ENGINE)): len(p.read_text(encoding="utf-8").splitlines()) for p in _modules()}
    assert [m for m in MODULE_EXCEPTIONS if lines.get(m, 0) <= MAX_MODULE_LINES] == []
    for module, name in FUNCTION_EXCEPTIONS:
        tree = ast.parse((ENGINE / module).read_text(encoding="utf-8"))
        found = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
        ]
        assert any((n.end_lineno or n.lineno) - n.lineno + 1 > MAX_FUNCTION_LINES for n in found), (
            module,
            name,
        )
