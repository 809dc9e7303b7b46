"""`launchgate` command line: database migrations, diagram checks, audit verification, a demo launch."""

from __future__ import annotations

import os
import sys
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from api.audit_cli import audit_app
from api.cli_engine import open_database as _database
from api.cli_engine import open_engine as _engine
from api.config_errors import settings_problems
from api.logs import configure_logging
from api.settings import get_settings, override_settings
from engine import (
    EngineError,
    WorkflowEngine,
    current_revision,
    downgrade_to,
    is_at_head,
    schema_history,
    upgrade_to_head,
)

app = typer.Typer(
    help="Launch Gate: BPMN launches that cannot go live until support is ready.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
bpmn_app = typer.Typer(help="Process diagrams.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(bpmn_app, name="bpmn")
app.add_typer(audit_app, name="audit")

DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides LAUNCHGATE_DATABASE_URL.", show_default=False)
]


@db_app.command("migrate")
def db_migrate(database_url: DatabaseOption = None) -> None:
    """Bring the schema to the newest revision and deploy the shipped process packages (bpmn/ with their
    forms). Fails (exit 2) when there is no process package to deploy."""
    bpmn_dir = get_settings().bpmn_dir
    if not sorted(bpmn_dir.glob("*.bpmn")):
        typer.echo(
            f"error: no process package (*.bpmn) in {bpmn_dir} (LAUNCHGATE_BPMN_DIR); nothing to deploy",
            err=True,
        )
        raise typer.Exit(2)
    database = _database(database_url)
    upgrade_to_head(database.db_engine)
    engine = WorkflowEngine(database)
    for version in engine.sync_shipped_processes(bpmn_dir):
        typer.echo(f"process {version.process_id} version {version.version} ({version.content_hash[:12]})")
    typer.echo("database is at the newest schema revision")


@db_app.command("current")
def db_current(database_url: DatabaseOption = None) -> None:
    """The database's schema revision (and whether it is the newest)."""
    database = _database(database_url)
    revision = current_revision(database.db_engine)
    state = "newest" if is_at_head(database.db_engine) else "not the newest: run `launchgate db migrate`"
    typer.echo(f"{revision or '(empty database)'} ({state})")


@db_app.command("history")
def db_history(database_url: DatabaseOption = None) -> None:
    """Every schema revision, oldest first; the database's own is marked."""
    database = _database(database_url)
    current = current_revision(database.db_engine)
    for revision, title in schema_history(database.db_engine):
        typer.echo(f"{'*' if revision == current else ' '} {revision}  {title}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="A revision of `db history`, previous (one back) or base.")],
    database_url: DatabaseOption = None,
) -> None:
    """Take the schema back to REVISION (what the newer revisions stored is lost: back up first)."""
    database = _database(database_url)
    try:
        downgrade_to(database.db_engine, "-1" if revision == "previous" else revision)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"database is at revision {current_revision(database.db_engine) or '(empty)'}")


@bpmn_app.command("check")
def bpmn_check(
    paths: Annotated[
        list[Path], typer.Argument(help="Diagrams (.bpmn), package directories or .zip packages.")
    ],
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Check calls to processes outside the package against this database's deployed "
            "processes, as deploy does (read only).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check process packages and plain diagrams the way deploy does: every problem with its file and
    element id (repeats grouped), errors apart from warnings. Exit 0 only when every one can be deployed.
    Without --database-url a call to a process outside the package is an error: nothing deployed is known."""
    from engine import read_paths

    engine = _engine(database_url, existing=True) if database_url else None
    failed = unresolved = False
    for path in paths:
        if not path.exists() and not path.is_symlink():
            typer.echo(f"error: {path}: cannot read: no such file or directory")
            failed = True
            continue
        for package in read_paths(path):
            if engine is None:
                report = WorkflowEngine.check_package(package)
            else:
                report = engine.check_package_against_deployed(package)
            for line in report.lines():
                typer.echo(line)
            typer.echo(report.summary())
            failed = failed or not report.deployable
            unresolved = unresolved or any(_outside_call(p.message) for p in report.errors)
    if unresolved and engine is None:
        typer.echo(
            "hint: no database was given: pass --database-url to check calls against the deployed processes"
        )
    if failed:
        raise typer.Exit(1)


def _outside_call(message: str) -> bool:
    return message.startswith("call activity calls process") and message.endswith("nor deployed")


@app.command("demo")
def demo(database_url: DatabaseOption = None) -> None:
    """Run one launch through every step (with one round of changes) and print its history."""
    from api.demo import run_demo

    engine = _engine(database_url)
    try:
        run_demo(engine, echo=typer.echo)
    except EngineError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


@app.command("seed")
def seed(database_url: DatabaseOption = None) -> None:
    """Create the demo users (one per role) and, if there is none yet, one demo launch. Prints the logins."""
    from api.demo import seed_demo

    database = _database(database_url)
    seed_demo(database, echo=typer.echo)


@app.command("serve")
def serve(
    *,
    host: Annotated[str | None, typer.Option(help="Overrides LAUNCHGATE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides LAUNCHGATE_PORT.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Server processes (PostgreSQL for more than one).")
    ] = None,
    database_url: DatabaseOption = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies whose X-Forwarded-For/-Proto are believed: addresses or networks, comma-separated, "
            "'*' for any. Overrides LAUNCHGATE_FORWARDED_ALLOW_IPS; default: none.",
            show_default=False,
        ),
    ] = None,
    root_path: Annotated[
        str | None, typer.Option(help="Path prefix of a proxy. Overrides LAUNCHGATE_ROOT_PATH.")
    ] = None,
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning or error. Overrides LAUNCHGATE_LOG_LEVEL.")
    ] = None,
    worker_start_timeout: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Seconds a server process may take to start (several workers). "
            "Overrides LAUNCHGATE_WORKER_START_TIMEOUT.",
        ),
    ] = None,
) -> None:
    """Serve the API and the pages with uvicorn."""
    from api.serving import serve_forever

    settings = override_settings(
        database_url=database_url,
        forwarded_allow_ips=forwarded_allow_ips,
        root_path=root_path,
        log_level=log_level,
        worker_start_timeout=worker_start_timeout,
        workers=workers,
        host=host,
        port=port,
    )
    database = _database(None)
    if not is_at_head(database.db_engine):
        typer.echo("error: the database schema is not up to date; run `launchgate db migrate`", err=True)
        raise typer.Exit(2)
    if settings.workers > 1 and database.is_sqlite:
        typer.echo("error: several server processes need PostgreSQL (LAUNCHGATE_DATABASE_URL)", err=True)
        raise typer.Exit(2)
    database.dispose()
    serve_forever(settings, echo=typer.echo)


@app.command("worker")
def worker(
    once: Annotated[
        bool, typer.Option("--once", help="One tick (timers, reminders, one batch), then exit.")
    ] = False,
    poll_seconds: Annotated[
        float | None, typer.Option(min=0.05, help="Overrides LAUNCHGATE_WORKER_POLL_SECONDS.")
    ] = None,
    database_url: DatabaseOption = None,
) -> None:
    """The background worker: fires BPMN timers, sends reminders and escalations, delivers the outbox
    (e-mail and webhooks). Run as many as you like on PostgreSQL."""
    from api.worker import run_worker

    run_worker(_engine(database_url), get_settings(), once=once, poll_seconds=poll_seconds, echo=typer.echo)


@app.command("smtp-sink")
def smtp_sink(
    host: Annotated[str | None, typer.Option(help="Overrides LAUNCHGATE_SMTP_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides LAUNCHGATE_SMTP_PORT.")] = None,
    mail_dir: Annotated[Path | None, typer.Option(help="Overrides LAUNCHGATE_MAIL_DIR.")] = None,
) -> None:
    """A local SMTP server for development that writes every message it gets to MAIL_DIR/*.eml."""
    from api.worker import run_sink, sink_available

    if not sink_available():
        typer.echo("error: the SMTP sink needs aiosmtpd: pip install 'launchgate[sink]'", err=True)
        raise typer.Exit(2)
    settings = get_settings()
    run_sink(
        host or settings.smtp_host or "127.0.0.1",
        port or settings.smtp_port,
        mail_dir or settings.mail_dir,
        echo=typer.echo,
    )


@app.command("run")
def run_everything() -> None:
    """The server, the worker and (when SMTP points at this machine) the local SMTP sink, together."""
    from api.worker import run_all

    code = run_all(get_settings(), echo=typer.echo)
    if code:
        raise typer.Exit(code)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"launchgate {package_version('launchgate')}")
        raise typer.Exit


@app.callback()
def _root(
    context: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_print_version, help="Print the version.")
    ] = False,
) -> None:
    """Launch Gate: BPMN launches that cannot go live until support is ready."""
    settings = get_settings()
    running = context.invoked_subcommand in {"serve", "worker", "run"}
    # The one-shot commands print their results; their log shows warnings unless debugging is asked for.
    quiet = "debug" if settings.log_level == "debug" else "warning"
    configure_logging(settings.log_level if running else quiet, settings.log_format)
    if running:
        # Several processes share their metrics through files (api/metrics.py); set before they start.
        folder = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.data_dir / "metrics")))
        folder.mkdir(parents=True, exist_ok=True)


def main() -> None:
    """The console entry point: a bad setting is reported as one line per problem (naming the environment
    variable), exit code 2, no traceback."""
    try:
        app()
    except ValidationError as exc:
        for line in settings_problems(exc):
            typer.echo(f"error: {line}", err=True)
        sys.exit(2)


if __name__ == "__main__":  # pragma: no cover
    main()
