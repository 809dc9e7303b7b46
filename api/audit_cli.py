"""`launchgate audit …`: verify the trail (database, export files, bundles) and manage the checkpoint key."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from api.cli_engine import open_engine
from engine import (
    AuditKeyError,
    AuditVerification,
    Signer,
    WorkflowEngine,
    generate_private_key_pem,
    key_id,
    load_public_key,
    public_key_base64,
    public_key_pem,
)

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
DatabaseOption = Annotated[
    str | None, typer.Option("--database-url", help="Overrides LAUNCHGATE_DATABASE_URL.", show_default=False)
]


def _engine(url: str | None) -> WorkflowEngine:
    return open_engine(url)


def report(result: AuditVerification, *, note: str = "") -> None:
    """OK with the count and the root of the chain heads, or the first problem; exit code 1 when broken."""
    if result.ok:
        checked = f", {result.checkpoints} signed checkpoints" if result.checkpoints else ""
        typer.echo(f"OK: {result.count} events{checked}, head {result.head_hash}{note}")
        return
    typer.echo(f"BROKEN: {result.message}", err=True)
    raise typer.Exit(1)


PublicKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        help="The checkpoint key's public half (PEM or base64). Default: from the audit settings.",
        show_default=False,
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings_signer() -> Signer | None:
    from api.audit_settings import get_audit_settings

    try:
        return get_audit_settings().signer()
    except (ValidationError, AuditKeyError) as exc:
        raise _fail(f"the audit settings are not usable: {exc}") from None


def _public_key(path: Path | None, *, required: bool) -> Ed25519PublicKey | None:
    if path is not None:
        try:
            return load_public_key(path.read_text(encoding="ascii"))
        except (OSError, UnicodeDecodeError, AuditKeyError) as exc:
            raise _fail(f"cannot use the public key {path}: {exc}") from None
    from api.audit_settings import get_audit_settings

    try:
        found = get_audit_settings().public()
    except (ValidationError, AuditKeyError) as exc:
        raise _fail(f"the audit settings are not usable: {exc}") from None
    if found is None and required:
        raise _fail("no public key: pass --public-key FILE (or set LAUNCHGATE_AUDIT_PUBLIC_KEY)")
    return found


@audit_app.command("verify")
def audit_verify(database_url: DatabaseOption = None, public_key: PublicKeyOption = None) -> None:
    """Recompute every audit chain and check every checkpoint (its link, its root against the chains and,
    with a public key, its signature): OK, or the first broken event (launch, position) or checkpoint."""
    key = _public_key(public_key, required=False)
    note = "" if key is not None else " (no public key configured: checkpoint signatures not checked)"
    report(_engine(database_url).verify_audit(public_key=key), note=note)


@audit_app.command("keygen")
def audit_keygen(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private key (PEM, mode 0600).")],
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Make an Ed25519 key pair for signing audit checkpoints; prints the public key to hand out."""
    if out.exists() and not force:
        raise _fail(
            f"{out} exists; pass --force to replace it (checkpoints signed with it stay valid "
            "only with its public key)"
        )
    pem = generate_private_key_pem()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.touch(mode=0o600, exist_ok=True)
        out.chmod(0o600)
        out.write_text(pem, encoding="ascii")
    except OSError as exc:
        raise _fail(f"cannot write {out}: {exc}") from None
    signer = Signer.from_pem(pem)
    typer.echo(f"private key written to {out} (set LAUNCHGATE_AUDIT_KEY_FILE={out} for the worker)")
    _print_public(signer.public)


def _print_public(public: Ed25519PublicKey) -> None:
    typer.echo(f"key id: {key_id(public)}")
    typer.echo(f"public key (base64): {public_key_base64(public)}")
    typer.echo(public_key_pem(public).rstrip())


@audit_app.command("public-key")
def audit_public_key(
    out: Annotated[Path | None, typer.Option("--out", help="Also write the PEM to this file.")] = None,
) -> None:
    """Print (and export) the public half of the configured checkpoint key, for auditors."""
    public = _public_key(None, required=True)
    assert public is not None
    _print_public(public)
    if out is not None:
        try:
            out.write_text(public_key_pem(public), encoding="ascii")
        except OSError as exc:
            raise _fail(f"cannot write {out}: {exc}") from None


@audit_app.command("checkpoint")
def audit_checkpoint(database_url: DatabaseOption = None) -> None:
    """Write a signed checkpoint now (the worker writes them by itself every few minutes)."""
    from engine import write_checkpoint

    signer = _settings_signer()
    if signer is None:
        raise _fail("no signing key: set LAUNCHGATE_AUDIT_KEY_FILE (see `launchgate audit keygen`)")
    engine = _engine(database_url)
    from api.audit_settings import get_audit_settings

    written = write_checkpoint(
        engine.db, signer, now=engine.clock.now(), force=True, send_to=get_audit_settings().send_to()
    )
    if written is None:
        typer.echo("nothing changed since the last checkpoint")
        return
    typer.echo(
        f"checkpoint {written.id}: {written.global_position} events in {written.chain_count} "
        f"chains, root {written.root}"
    )


@audit_app.command("verify-bundle")
def audit_verify_bundle(
    file: Annotated[Path, typer.Argument(help="A bundle (.zip) from the launch page or the API")],
    public_key: PublicKeyOption = None,
) -> None:
    """Verify an audit bundle offline with the checkpoint key's public half alone."""
    from engine import verify_bundle

    key = _public_key(public_key, required=True)
    assert key is not None
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise _fail(f"cannot read {file}: {exc}") from None
    result = verify_bundle(data, key)
    if result.ok:
        typer.echo(f"OK: {result.message}")
        return
    typer.echo(f"BROKEN: {result.message}", err=True)
    raise typer.Exit(1)


@audit_app.command("verify-export")
def audit_verify_export(
    file: Annotated[Path, typer.Argument(help="An export: .csv or .jsonl (whole, or one launch's events)")],
) -> None:
    """Verify an exported audit trail offline (no database): every chain in it links and hashes."""
    from api.exports import read_csv, read_jsonl
    from engine import verify_events

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
