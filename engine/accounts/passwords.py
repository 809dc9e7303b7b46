"""Passwords and secrets: argon2id hashes (argon2-cffi defaults) and SHA-256 digests of handed-out secrets.

An unknown user costs the same hash check as a wrong password (a dummy hash stands in for theirs)."""

from __future__ import annotations

import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from engine.errors import FieldProblem

MIN_PASSWORD = 10
MAX_PASSWORD = 200

_hasher = PasswordHasher()
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A real hash to check unknown users against (same cost as a wrong password); made on first use,
    not at import, so server start-up stays quick."""
    global _DUMMY_HASH  # noqa: PLW0603 - a lazily built module constant
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("launch-gate-timing-equaliser")
    return _DUMMY_HASH


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether the password matches the hash; None (no such user) is checked against a dummy hash, so
    both answers take about the same time. Input past MAX_PASSWORD is cut off."""
    try:
        return _hasher.verify(
            _dummy_hash() if password_hash is None else password_hash, password[:MAX_PASSWORD]
        )
    except (VerificationError, InvalidHashError):
        return False


def digest(secret: str) -> str:
    """What is stored of a session cookie or an API token: its SHA-256, never the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def password_problems(password: str, field: str = "password") -> list[FieldProblem]:
    if len(password) < MIN_PASSWORD:
        return [FieldProblem((field,), f"use at least {MIN_PASSWORD} characters", "too_short")]
    if len(password) > MAX_PASSWORD:
        return [FieldProblem((field,), f"use at most {MAX_PASSWORD} characters", "too_long")]
    return []
