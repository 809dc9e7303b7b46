"""`launchgate audit …`: verify the trail (database, export files, bundles) and manage the checkpoint key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine import AuditVerification, WorkflowEngine

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides LAUNCHGATE_DATABASE_URL.", show_default=False)
]


def _engine(url: str | None) -> WorkflowEngine:
    from api.cli import _engine as make  # the CLI's one place that opens a checked database

    return make(url)


def report(result: AuditVerification) -> None:
    """OK with the count and the root of the chain heads, or the first problem; exit code 1 when broken."""
    if result.ok:
        checked = f", {result.checkpoints} signed checkpoints" if result.checkpoints else ""
        typer.echo(f"OK: {result.count} events{checked}, head {result.head_hash}")
        return
    typer.echo(f"BROKEN: {result.message}", err=True)
    raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(database_url: DatabaseOption = None) -> None:
    """Recompute every audit chain: OK, or the first broken event (launch and position)."""
    report(_engine(database_url).verify_audit())


@audit_app.command("verify-export")
def audit_verify_export(
    file: Annotated[Path, typer.Argument(help="An export: .csv or .jsonl (whole, or one launch's events)")],
) -> None:
    """Verify an exported audit trail offline (no database): every chain in it links and hashes."""
    from api.exports import read_csv, read_jsonl
    from engine.audit import verify_events

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"error: cannot read {file}: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        events = list(read_csv(text) if file.suffix.lower() == ".csv" else read_jsonl(text))
    except (ValueError, KeyError) as exc:
        typer.echo(f"error: {file} is not an audit export: {exc}", err=True)
        raise typer.Exit(2) from exc
    report(verify_events(events))
