"""Audit bundles: a launch's whole record (or the whole trail) in one zip that verifies offline with the
checkpoint key's public half alone (`launchgate audit verify-bundle FILE`).

Contents: `manifest.json` (what the bundle is, the SHA-256 of every other file, the attached files'
hashes), `events.json` (the events exactly as hashed, in global order) and `events.csv` (the same, as the
CSV export writes it), the process version's diagram (`process/<id>.bpmn`) and forms (`forms/*.json`),
`checkpoint.json` (the newest signed checkpoint: its signed text, signature and key id) and `proof.json`
(a launch bundle: the Merkle inclusion proof of the launch's chain head; the full trail: every leaf).

What verification finds: an edited, reordered or removed event (the chain), a bundle cut short or its last
events removed before the checkpoint (the signed leaf says how long the chain was and what its head
was), and a database rewritten after the checkpoint (the rewritten head is not the signed one). Events
after the newest checkpoint are chained but not yet signed; the report says how many.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from engine.audit import chain_of, describe_chain, record_fields, verify_events
from engine.audit_export import read_csv, write_csv
from engine.audit_merkle import merkle_root, verify_inclusion
from engine.audit_signing import key_id, signature_ok
from engine.checkpoints import latest_with_proof
from engine.db import audit as audit_rows
from engine.db.session import Database
from engine.errors import NotFoundError
from engine.forms.stored import stored_form_files

FORMAT = "launchgate-audit-bundle/1"
MAX_MEMBER_BYTES = 512 * 1024 * 1024  # refuse to unpack anything larger (a zip bomb)


@dataclass(frozen=True)
class BundleCheck:
    ok: bool
    message: str
    events: int = 0
    covered: int = 0  # events the checkpoint signed


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _forms(stored: str | None) -> dict[str, bytes]:
    """The form files stored with the launch's process version, as they were deployed."""
    return {f"forms/{f.name}": f.body for f in sorted(stored_form_files(stored), key=lambda f: f.name)}


def build_bundle(db: Database, *, launch_id: str | None, created_at: str) -> bytes:
    """The bundle of one launch (or, with None, of the whole trail), from one read snapshot."""
    with db.read() as session:
        files: dict[str, bytes] = {}
        manifest: dict[str, Any] = {"format": FORMAT, "launch_id": launch_id, "created_at": created_at}
        if launch_id is not None:
            source = audit_rows.bundle_sources(session, launch_id)
            if source is None:
                raise NotFoundError(f"launch {launch_id} does not exist")
            manifest["launch"] = {k: source[k] for k in ("product_name", "status", "pm")}
            manifest["process"] = {k: source[k] for k in ("process_id", "version", "content_hash")}
            files[f"process/{source['process_id']}.bpmn"] = str(source["bpmn_xml"]).encode("utf-8")
            files.update(_forms(source["forms"]))
            events = audit_rows.chain_events(session, chain_of(launch_id))
            found = latest_with_proof(session, chain_of(launch_id))
            checkpoint, proof = (found[0].as_dict(), found[1]) if found is not None else (None, None)
        else:
            events = list(audit_rows.iter_events(session))
            latest = audit_rows.latest_signed_checkpoint(session)
            leaves = audit_rows.checkpointed_heads(session)
            checkpoint = (
                {k: latest[k] for k in ("payload", "signature", "key_id")} if latest is not None else None
            )
            proof = {"leaves": [list(leaf) for leaf in leaves]} if latest is not None else None
    hashed = [record_fields(e) for e in events]
    files["events.json"] = _json(hashed)
    files["events.csv"] = "".join(write_csv(hashed)).encode("utf-8")
    files["checkpoint.json"] = _json(checkpoint)
    files["proof.json"] = _json(proof)
    manifest["attachments"] = []  # this release stores no attached files; their hashes would go here
    manifest["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", _json(manifest))
        for name, data in sorted(files.items()):
            archive.writestr(name, data)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- verifying


class _BrokenError(Exception):
    pass


def _read(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise _BrokenError("not an audit bundle (not a zip file)") from None
    with archive:
        members = {}
        for info in archive.infolist():
            if info.file_size > MAX_MEMBER_BYTES:
                raise _BrokenError(f"{info.filename} is too large to be part of a bundle")
            members[info.filename] = archive.read(info)
    if "manifest.json" not in members:
        raise _BrokenError("not an audit bundle (no manifest.json)")
    try:
        manifest = json.loads(members.pop("manifest.json"))
    except ValueError:
        raise _BrokenError("manifest.json is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _BrokenError(f"not an audit bundle of format {FORMAT}")
    listed = dict(manifest.get("files") or {})
    if set(listed) != set(members):
        extra, missing = sorted(set(members) - set(listed)), sorted(set(listed) - set(members))
        raise _BrokenError(f"the files do not match the manifest (missing {missing}, unlisted {extra})")
    for name, content in members.items():
        if hashlib.sha256(content).hexdigest() != listed[name]:
            raise _BrokenError(f"{name} was changed after the bundle was made (its hash differs)")
    return manifest, members


def _load(members: Mapping[str, bytes], name: str) -> Any:
    try:
        return json.loads(members[name])
    except (KeyError, ValueError):
        raise _BrokenError(f"{name} is missing or not JSON") from None


def _signed_body(checkpoint: Any, public: Ed25519PublicKey) -> dict[str, Any]:
    if not isinstance(checkpoint, dict) or not checkpoint.get("payload"):
        raise _BrokenError("no signed checkpoint covers these events yet: nothing outside vouches")
    payload, signature = str(checkpoint["payload"]), str(checkpoint.get("signature") or "")
    if checkpoint.get("key_id") != key_id(public):
        raise _BrokenError(f"the checkpoint was signed with key {checkpoint.get('key_id')}, not this one")
    if not signature_ok(public, payload, signature):
        raise _BrokenError("the checkpoint's signature does not verify with the public key")
    body = json.loads(payload)
    if not isinstance(body, dict):
        raise _BrokenError("the checkpoint's signed text is not an object")
    return body


def _covered(events: Sequence[Mapping[str, Any]], leaf: Sequence[Any]) -> int:
    """The events up to the signed head must be there and end in the signed hash."""
    chain_id, length, head = str(leaf[0]), int(leaf[1]), str(leaf[2])
    mine = [e for e in events if chain_of(e.get("launch_id")) == chain_id]
    where = describe_chain(chain_id)
    if len(mine) < length:
        raise _BrokenError(
            f"{where}: the signed checkpoint covers {length} events, the bundle has {len(mine)}: "
            f"events #{len(mine) + 1} to #{length} were removed or the bundle was cut short"
        )
    if mine[length - 1]["hash"] != head:
        raise _BrokenError(
            f"{where}: event #{length} is not the one the checkpoint signed (the trail was rewritten)"
        )
    return length


def verify_bundle(data: bytes, public: Ed25519PublicKey) -> BundleCheck:
    """Check a bundle offline; the first problem is named."""
    try:
        manifest, members = _read(data)
        events = _load(members, "events.json")
        if not isinstance(events, list):
            raise _BrokenError("events.json is not a list of events")
        chains = verify_events(events)
        if not chains.ok:
            raise _BrokenError(chains.message)
        as_csv = list(read_csv(members["events.csv"].decode("utf-8")))
        if as_csv != [record_fields(e) for e in events]:
            raise _BrokenError("events.csv does not hold the same events as events.json")
        body = _signed_body(_load(members, "checkpoint.json"), public)
        proof = _load(members, "proof.json")
        covered = _check_proof(manifest.get("launch_id"), events, body, proof)
    except _BrokenError as problem:
        return BundleCheck(ok=False, message=str(problem))
    launch = manifest.get("launch_id")
    subject = f"launch {launch}" if launch else "the whole audit trail"
    later = len(events) - covered
    return BundleCheck(
        ok=True,
        events=len(events),
        covered=covered,
        message=f"{subject}: {len(events)} events, {covered} covered by signed checkpoint {body.get('id')}"
        + (f" ({later} later, chained but not yet signed)" if later else ""),
    )


def _check_proof(launch_id: Any, events: list[Any], body: Mapping[str, Any], proof: Any) -> int:
    if not isinstance(proof, dict):
        raise _BrokenError("proof.json holds no proof")
    if launch_id is not None:
        if any(e.get("launch_id") != launch_id for e in events):
            raise _BrokenError(f"events.json holds events of other launches than {launch_id}")
        leaf = proof.get("leaf") or []
        if len(leaf) != 3 or leaf[0] != launch_id:
            raise _BrokenError("the proof is not about this launch's chain")
        size = int(proof.get("tree_size", -1))
        if size != body.get("chain_count") or not verify_inclusion(
            (str(leaf[0]), int(leaf[1]), str(leaf[2])),
            int(proof.get("index", -1)),
            size,
            [str(p) for p in proof.get("path") or []],
            str(body.get("root")),
        ):
            raise _BrokenError("the launch's chain head is not in the signed checkpoint (the proof fails)")
        return _covered(events, leaf)
    leaves = [(str(a), int(b), str(c)) for a, b, c in proof.get("leaves") or []]
    if merkle_root(leaves) != body.get("root") or len(leaves) != body.get("chain_count"):
        raise _BrokenError("the chain heads in proof.json are not the ones the checkpoint signed")
    if sum(length for _, length, _ in leaves) != body.get("global_position"):
        raise _BrokenError("the chain heads do not add up to the checkpoint's global position")
    return sum(_covered(events, leaf) for leaf in leaves)


__all__ = ["BundleCheck", "build_bundle", "verify_bundle"]
