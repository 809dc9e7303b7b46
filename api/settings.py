"""Settings from the environment (prefix LAUNCHGATE_) or a .env file. Bad values are refused at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAUNCHGATE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'launchgate.db'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    bpmn_dir: Path = Field(default=PROJECT_ROOT / "bpmn", description="Diagrams deployed at migrate time")
    host: str = Field(default="127.0.0.1", description="Address `launchgate serve` listens on")
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(
        default=1, ge=1, le=64, description="Server processes (use PostgreSQL for more than one)"
    )
    fault_injection: str = Field(
        default="",
        description="TESTS ONLY: 'before_write:<command>' or 'after_commit:<command>' makes the server stop "
        "there (write a marker file in fault_marker_dir, then hang) so a test can kill it",
    )
    fault_marker_dir: Path | None = None

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql+psycopg://", "postgresql://")):
            raise ValueError("use sqlite:///… or postgresql+psycopg://…")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
