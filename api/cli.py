"""`launchgate` command line: database migrations, diagram checks, audit verification, a demo launch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from api.audit_cli import audit_app
from api.cli_engine import open_database as _database
from api.cli_engine import open_engine as _engine
from api.settings import get_settings
from engine import EngineError, WorkflowEngine, is_at_head, upgrade_to_head

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
    """Bring the schema to the newest revision and deploy the shipped diagrams (bpmn/)."""
    database = _database(database_url)
    upgrade_to_head(database.db_engine)
    engine = WorkflowEngine(database)
    for version in engine.sync_shipped_processes(get_settings().bpmn_dir):
        typer.echo(f"process {version.process_id} version {version.version} ({version.content_hash[:12]})")
    typer.echo("database is at the newest schema revision")


@bpmn_app.command("check")
def bpmn_check(
    paths: Annotated[
        list[Path], typer.Argument(help="Diagrams (.bpmn), package directories or .zip packages.")
    ],
) -> None:
    """Check process packages and plain diagrams the way deploy does: every problem with its file and
    element id (repeats grouped), errors apart from warnings. Exit 0 only when every one can be deployed."""
    from engine import read_path

    failed = False
    for path in paths:
        if not path.exists() and not path.is_symlink():
            typer.echo(f"error: {path}: cannot read: no such file or directory")
            failed = True
            continue
        report = WorkflowEngine.check_package(read_path(path))
        for line in report.lines():
            typer.echo(line)
        typer.echo(report.summary())
        failed = failed or not report.deployable
    if failed:
        raise typer.Exit(1)


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
    host: Annotated[str | None, typer.Option(help="Overrides LAUNCHGATE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Overrides LAUNCHGATE_PORT.")] = None,
    workers: Annotated[
        int | None, typer.Option(help="Server processes (PostgreSQL for more than one).")
    ] = None,
) -> None:
    """Serve the API (and, later, the pages) with uvicorn."""
    import uvicorn

    settings = get_settings()
    database = _database(None)
    if not is_at_head(database.db_engine):
        typer.echo("error: the database schema is not up to date; run `launchgate db migrate`", err=True)
        raise typer.Exit(2)
    count = workers or settings.workers
    if count > 1 and database.is_sqlite:
        typer.echo("error: several server processes need PostgreSQL (LAUNCHGATE_DATABASE_URL)", err=True)
        raise typer.Exit(2)
    database.dispose()
    bind_host, bind_port = host or settings.host, port or settings.port
    typer.echo(
        f"Launch Gate on http://{bind_host}:{bind_port}  (API docs: http://{bind_host}:{bind_port}/docs)"
    )
    uvicorn.run(
        "api.app:app_from_environment",
        factory=True,
        host=bind_host,
        port=bind_port,
        workers=count,
        log_level="info",
    )


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


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
