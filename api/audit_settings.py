"""The audit checkpoint settings (prefix LAUNCHGATE_AUDIT_), apart from the rest so that the key never
travels with the other settings. Bad values are refused at start-up.

- `LAUNCHGATE_AUDIT_KEY_FILE`: the Ed25519 private key (PEM) the worker signs checkpoints with
  (`launchgate audit keygen` writes one);
- `LAUNCHGATE_AUDIT_SIGNING_KEY`: the same key as PEM text, instead of a file;
- `LAUNCHGATE_AUDIT_PUBLIC_KEY`: a public key (PEM or base64) to verify with, where the private key is not
  kept;
- `LAUNCHGATE_AUDIT_CHECKPOINT_MINUTES`: at most one checkpoint per this many minutes, when something
  changed (default 5);
- `LAUNCHGATE_AUDIT_EMAIL`: where each checkpoint is e-mailed (default: every auditor); the webhook, when
  configured, gets it too.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from engine import AuditKeyError, Signer, load_public_key


class AuditSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAUNCHGATE_AUDIT_", env_file=".env", extra="ignore")

    key_file: Path | None = Field(default=None, description="Ed25519 private key, PEM")
    signing_key: SecretStr = Field(default=SecretStr(""), description="Ed25519 private key as PEM text")
    public_key: str = Field(default="", description="Ed25519 public key (PEM or base64) to verify with")
    checkpoint_minutes: float = Field(default=5.0, gt=0, le=24 * 60)
    email: str = Field(default="", max_length=254, description="Audit address for checkpoints")

    @model_validator(mode="after")
    def _coherent(self) -> AuditSettings:
        if self.key_file is not None and self.signing_key.get_secret_value():
            raise ValueError("set LAUNCHGATE_AUDIT_KEY_FILE or LAUNCHGATE_AUDIT_SIGNING_KEY, not both")
        signer = self.signer()
        if signer is not None and self.public_key:
            if load_public_key(self.public_key) != signer.public:
                raise ValueError("LAUNCHGATE_AUDIT_PUBLIC_KEY is not the public half of the signing key")
        elif self.public_key:
            load_public_key(self.public_key)
        return self

    def signer(self) -> Signer | None:
        """The checkpoint signer, or None when no key is configured."""
        if self.key_file is not None:
            try:
                pem = self.key_file.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise AuditKeyError(
                    f"LAUNCHGATE_AUDIT_KEY_FILE: cannot read {self.key_file}: {exc}"
                ) from None
            return Signer.from_pem(pem)
        text = self.signing_key.get_secret_value()
        return Signer.from_pem(text) if text else None

    def public(self) -> Ed25519PublicKey | None:
        signer = self.signer()
        if signer is not None:
            return signer.public
        return load_public_key(self.public_key) if self.public_key else None

    def checkpoint_every(self) -> timedelta:
        return timedelta(minutes=self.checkpoint_minutes)

    def send_to(self) -> dict[str, Any]:
        return {"addresses": [self.email]} if self.email else {"roles": ["auditor"]}


@lru_cache(maxsize=1)
def get_audit_settings() -> AuditSettings:
    return AuditSettings()
