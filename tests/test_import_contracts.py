"""The layer rules of ARCHITECTURE.md: import-linter's contracts in pyproject.toml, and api importing only
the names engine/__init__.py exports (its __all__)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_kept() -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports is not None, "import-linter is not installed"
    result = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().split("contracts:")[-1].replace("0 broken", "")


# ------------------------------------------------------------------- api uses only engine's public surface


def _engine_import_violations(source: str, exported: frozenset[str]) -> list[str]:
    """Every import of `engine` in `source` that is not `from engine import X` with X in engine.__all__."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}"
                for a in node.names
                if a.name == "engine" or a.name.startswith("engine.")
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("engine."):
                found.append(f"line {node.lineno}: from {node.module} import …")
            elif node.module == "engine":
                found += [
                    f"line {node.lineno}: from engine import {a.name} (not in engine.__all__)"
                    for a in node.names
                    if a.name not in exported
                ]
    return found


def test_api_imports_only_names_engine_exports() -> None:
    exported = frozenset(engine.__all__)
    assert {"WorkflowEngine", "LAUNCH_START_FIELDS", "MAX_DIAGRAM_BYTES"} <= exported
    files = sorted((ROOT / "api").rglob("*.py"))
    assert len(files) > 20, "the scan found too few api modules"
    violations = [
        f"{path.relative_to(ROOT)} {v}"
        for path in files
        for v in _engine_import_violations(path.read_text(encoding="utf-8"), exported)
    ]
    assert not violations, "api reaches past engine/__init__.py's __all__:\n" + "\n".join(violations)


def test_engine_import_scan_reports_every_way_past_the_surface() -> None:
    source = (
        "from engine import WorkflowEngine, _hidden\n"
        "from engine.audit import HASHED_FIELDS\n"
        "import engine.xml_safety\n"
        "import engine as e\n"
        "from enginex import thing\n"
        "def f():\n"
        "    from engine.forms.formats import normalize_email\n"
    )
    assert _engine_import_violations(source, frozenset({"WorkflowEngine"})) == [
        "line 1: from engine import _hidden (not in engine.__all__)",
        "line 2: from engine.audit import …",
        "line 3: import engine.xml_safety",
        "line 4: import engine",
        "line 7: from engine.forms.formats import …",
    ]
