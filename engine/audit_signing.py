"""Ed25519 keys for audit checkpoints: generate, load, sign, verify (the `cryptography` package).

A private key is stored as PKCS#8 PEM (unencrypted; protect the file). A public key is accepted as PEM
(SubjectPublicKeyInfo) or as the base64 of its 32 raw bytes. A key's id is the first 16 hex digits of the
SHA-256 of its raw public bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class AuditKeyError(ValueError):
    """A key that cannot be read (the message says why)."""


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    return hashlib.sha256(_raw(public)).hexdigest()[:16]


def public_key_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def public_key_base64(public: Ed25519PublicKey) -> str:
    return base64.b64encode(_raw(public)).decode("ascii")


def generate_private_key_pem() -> str:
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        .decode("ascii")
    )


@dataclass(frozen=True)
class Signer:
    private: Ed25519PrivateKey

    @classmethod
    def from_pem(cls, pem: str) -> Signer:
        try:
            key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
        except (ValueError, TypeError, UnicodeEncodeError) as exc:
            raise AuditKeyError(f"not an unencrypted PEM private key: {exc}") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditKeyError("the private key is not an Ed25519 key")
        return cls(key)

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, payload: str) -> str:
        return base64.b64encode(self.private.sign(payload.encode("utf-8"))).decode("ascii")


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key from PEM or from the base64 of its 32 raw bytes."""
    stripped = text.strip()
    if stripped.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_public_key(stripped.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as exc:
            raise AuditKeyError(f"not a PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise AuditKeyError("the public key is not an Ed25519 key")
        return key
    try:
        raw = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise AuditKeyError("a public key is PEM or the base64 of 32 bytes") from None
    if len(raw) != 32:
        raise AuditKeyError(f"an Ed25519 public key has 32 bytes, this one has {len(raw)}")
    return Ed25519PublicKey.from_public_bytes(raw)


def signature_ok(public: Ed25519PublicKey, payload: str, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), payload.encode("utf-8"))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True
