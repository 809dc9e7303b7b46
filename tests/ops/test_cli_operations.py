"""The command line as an operator meets it: settings problems, the database URL, schema revisions, the
version, Alembic's own command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.cli_engine import open_database
from api.settings import get_settings
from engine import Database, current_revision, is_at_head, schema_history

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Settings read anew from this test's environment, in a working directory of its own."""
    for name in list(os.environ):
        if name.startswith("LAUNCHGATE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`launchgate ARGS` in a child process (the console entry point), in tmp_path."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHGATE_")}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_bad_settings_are_one_line_each_naming_the_variable_and_exit_2(tmp_path: Path) -> None:
    result = _cli(
        tmp_path,
        "db",
        "current",
        LAUNCHGATE_REMINDER_LADDER="-1:remind,soon:escalate",
        LAUNCHGATE_PORT="0",
        LAUNCHGATE_HOLIDAYS="2030-01-01,someday",
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 3, lines
    assert sorted(line.split(":")[1].strip() for line in lines) == [
        "LAUNCHGATE_HOLIDAYS (item 2)",
        "LAUNCHGATE_PORT",
        "LAUNCHGATE_REMINDER_LADDER",
    ]
    assert all(line.startswith("error: LAUNCHGATE_") for line in lines)
    assert "'soon:escalate'" in next(line for line in lines if "LADDER" in line)


@pytest.mark.slow
def test_a_problem_between_settings_names_both_variables(tmp_path: Path) -> None:
    result = _cli(tmp_path, "db", "current", LAUNCHGATE_WEBHOOK_URL="https://hooks.example.com/lg")
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        "error: LAUNCHGATE_WEBHOOK_URL needs LAUNCHGATE_WEBHOOK_SECRET (the key its bodies are signed with)"
    ]


@pytest.mark.parametrize("url", ["sqlite:///", "sqlite:///?mode=ro", "mysql://db/launchgate"])
def test_database_url_without_a_file_or_of_another_kind_is_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["db", "current", "--database-url", url])
    assert result.exit_code == 2
    assert result.output.startswith("error: --database-url: ")
    monkeypatch.setenv("LAUNCHGATE_DATABASE_URL", url)
    get_settings.cache_clear()
    from pydantic import ValidationError

    from api.config_errors import settings_problems

    with pytest.raises(ValidationError) as caught:
        get_settings()
    [line] = settings_problems(caught.value)
    assert line.startswith("LAUNCHGATE_DATABASE_URL: ")
    assert ("needs a file" in line) == url.startswith("sqlite")


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"launchgate {version('launchgate')}\n"


def test_data_lands_in_the_data_directory_by_default(tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "migrate"])
    assert result.exit_code == 0, result.output
    assert "process launch_gate version 1" in result.output
    assert (tmp_path / "var" / "launchgate.db").is_file()
    settings = get_settings()
    assert settings.mail_dir == tmp_path / "var" / "mail"


def test_migrate_fails_when_no_process_package_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("LAUNCHGATE_BPMN_DIR", str(tmp_path / "empty"))
    result = runner.invoke(app, ["db", "migrate"])
    assert result.exit_code == 2
    assert "no process package (*.bpmn) in" in result.output
    assert "LAUNCHGATE_BPMN_DIR" in result.output


def test_db_current_history_and_downgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'revisions.db'}"
    assert runner.invoke(app, ["db", "migrate", "--database-url", url]).exit_code == 0
    revisions = [revision for revision, _ in schema_history(Database.from_url(url).db_engine)]
    head, previous = revisions[-1], revisions[-2]

    current = runner.invoke(app, ["db", "current", "--database-url", url])
    assert current.output == f"{head} (newest)\n"
    history = runner.invoke(app, ["db", "history", "--database-url", url]).output.splitlines()
    assert [line[2:].split()[0] for line in history] == revisions
    assert [line[0] for line in history] == [" "] * (len(revisions) - 1) + ["*"]

    down = runner.invoke(app, ["db", "downgrade", "previous", "--database-url", url])
    assert down.exit_code == 0, down.output
    assert down.output == f"database is at revision {previous}\n"
    assert "not the newest" in runner.invoke(app, ["db", "current", "--database-url", url]).output

    unknown = runner.invoke(app, ["db", "downgrade", "0099_nothing", "--database-url", url])
    assert unknown.exit_code == 2
    assert "unknown revision '0099_nothing'" in unknown.output
    assert runner.invoke(app, ["db", "migrate", "--database-url", url]).exit_code == 0
    assert is_at_head(Database.from_url(url).db_engine)


@pytest.mark.slow
def test_alembic_upgrade_head_works_from_the_repository_root(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alembic.db'}"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LAUNCHGATE_")}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env={**clean, "LAUNCHGATE_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    database = Database.from_url(url)
    assert is_at_head(database.db_engine)
    assert current_revision(database.db_engine) == schema_history(database.db_engine)[-1][0]


def test_pool_size_comes_from_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAUNCHGATE_DB_POOL_SIZE", "3")
    monkeypatch.setenv("LAUNCHGATE_DB_MAX_OVERFLOW", "4")
    get_settings.cache_clear()
    database = open_database(f"sqlite:///{tmp_path / 'pool.db'}")
    pool = database.db_engine.pool
    assert (pool.size(), pool._max_overflow) == (3, 4)  # type: ignore[attr-defined]
