"""The data-access rule (docs/design.md, "Data access"): no SQL outside engine/db/.

Every module of engine/ and api/ outside engine/db/ is read as source (an AST scan, nothing imported).
It may hold a Session that engine/db/ opened, pass it on, read and set attributes of the rows engine/db/
functions return and flush; it may not build a statement, run one, or reach for the connection or a
driver cursor.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("engine", "api")
DB_LAYER = "engine/db/"

# Modules that still hold statements, each until the branch named removes them. Remove an entry when its
# module is clean: the test then fails on a stale entry.
EXEMPT: dict[str, str] = {}

# Outside engine/db/ the only SQLAlchemy name in use is the Session type (to pass a transaction on).
ALLOWED_SQLALCHEMY = {"sqlalchemy.orm": {"Session"}}
# Methods that run SQL or expose the connection, on whatever object.
RUNS_SQL = {
    "execute",
    "executemany",
    "exec_driver_sql",
    "scalars",
    "scalar",
    "scalar_one",
    "scalar_one_or_none",
    "connection",
    "cursor",
    "fetch_one",
}
# Session methods that load or write rows by themselves, on an object named like a session.
SESSION_SQL = {"get", "get_one", "add", "add_all", "delete", "merge", "query", "refresh"}
SESSION_NAME = re.compile(r"(^|_)session$", re.IGNORECASE)
SQL_TEXT = re.compile(
    r"^\s*(SELECT\s.+\sFROM\s|INSERT\s+INTO\s|UPDATE\s+\S+\s+SET\s|DELETE\s+FROM\s|PRAGMA\s|ANALYZE\b|"
    r"VACUUM\b|(CREATE|DROP|ALTER)\s+(TABLE|INDEX)\s)",
    re.IGNORECASE | re.DOTALL,
)


def violations(source: str) -> list[str]:
    """What in this module's source breaks the rule, one line each ("line N: what")."""
    tree = ast.parse(source)
    docstrings = {id(node) for node in _docstrings(tree)}
    found = []
    for node in ast.walk(tree):
        problem = _problem(node, docstrings)
        if problem:
            found.append(f"line {getattr(node, 'lineno', 0)}: {problem}")
    return found


def _problem(node: ast.AST, docstrings: set[int]) -> str | None:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names if a.name == "sqlalchemy" or a.name.startswith("sqlalchemy.")]
        return f"imports {', '.join(names)}" if names else None
    if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
        allowed = ALLOWED_SQLALCHEMY.get(node.module or "", set())
        names = [a.name for a in node.names if a.name not in allowed]
        return f"imports {', '.join(names)} from {node.module}" if names else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        method = node.func.attr
        if method in RUNS_SQL:
            return f"calls .{method}()"
        if method in SESSION_SQL and SESSION_NAME.search(_name_of(node.func.value)):
            return f"calls {_name_of(node.func.value)}.{method}()"
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
        return "holds SQL text" if SQL_TEXT.match(node.value) else None
    return None


def _name_of(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _docstrings(tree: ast.Module) -> Iterator[ast.Constant]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                yield first.value


def _modules() -> list[str]:
    return sorted(
        path.relative_to(ROOT).as_posix()
        for package in SCANNED
        for path in (ROOT / package).rglob("*.py")
        if not path.relative_to(ROOT).as_posix().startswith(DB_LAYER)
    )


def _exemption(module: str) -> str | None:
    return next((key for key in EXEMPT if module == key or module.startswith(key.rstrip("/") + "/")), None)


def test_no_sql_outside_engine_db() -> None:
    broken = {}
    for module in _modules():
        if _exemption(module) is None:
            found = violations((ROOT / module).read_text(encoding="utf-8"))
            if found:
                broken[module] = found
    assert not broken, (
        "SQL outside engine/db/ (put it behind a named function in engine/db/, see docs/design.md "
        f"'Data access'): {broken}"
    )


def test_every_exemption_is_still_needed() -> None:
    stale = []
    for key, reason in EXEMPT.items():
        modules = [m for m in _modules() if _exemption(m) == key]
        if modules and not any(violations((ROOT / m).read_text(encoding="utf-8")) for m in modules):
            stale.append(f"{key} ({reason})")
    assert not stale, f"these modules hold no SQL any more; remove their exemption from EXEMPT: {stale}"


def test_the_scan_sees_the_modules() -> None:
    modules = _modules()
    assert "engine/outbox.py" in modules and "api/app.py" in modules
    assert not any(m.startswith(DB_LAYER) for m in modules)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from sqlalchemy import select\n", "imports select from sqlalchemy"),
        ("from sqlalchemy.orm import Session, aliased\n", "imports aliased from sqlalchemy.orm"),
        ("import sqlalchemy as sa\n", "imports sqlalchemy"),
        ("from sqlalchemy.sql import text\n", "imports text from sqlalchemy.sql"),
        ("def f(s):\n    return s.execute(q)\n", "calls .execute()"),
        ("def f(s):\n    s.connection().exec_driver_sql('x')\n", "calls .exec_driver_sql()"),
        ("def f(c):\n    c.cursor()\n", "calls .cursor()"),
        ("def f(session):\n    session.add(r)\n", "calls session.add()"),
        ("def f(self):\n    return self.session.get(R, 1)\n", "calls session.get()"),
        ("def f(db_session):\n    db_session.delete(r)\n", "calls db_session.delete()"),
        ("Q = 'SELECT id FROM launch'\n", "holds SQL text"),
        ("Q = '  delete from task'.upper()\n", "holds SQL text"),
    ],
)
def test_the_scan_finds_sql(source: str, expected: str) -> None:
    assert any(expected in v for v in violations(source)), violations(source)


def test_the_scan_allows_passing_a_session_on() -> None:
    source = (
        '"""SELECT nothing: a docstring may talk about SQL."""\n'
        "from sqlalchemy.orm import Session\n"
        "from engine.db import outbox as rows\n"
        "def f(session: Session, options: dict) -> None:\n"
        '    """UPDATE launch SET version = version + 1, said in a docstring."""\n'
        "    row = rows.message_by_id(session, 1)\n"
        "    row.attempts += options.get('n', 1)\n"
        "    session.flush()\n"
        "    print('select a role')\n"
        "    session_data = {}\n"
        "    session_data.get('csrf')\n"
    )
    assert violations(source) == []
