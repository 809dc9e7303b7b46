"""Launch rows outside the command path: the worker's look-ups and version bumps.

(The command path's launch reads and writes are in engine/db/rows.py; these run on the caller's session.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from engine.db.models import LaunchRecord
from engine.db.rows import LaunchRow, read_launch


def launch_by_id(session: Session, launch_id: str) -> LaunchRow | None:
    """The launch row (without its workflow state), read in the session's transaction."""
    return read_launch(session, launch_id)


def bump_version(session: Session, launch_id: str, *, now: datetime) -> None:
    """Move the launch to a new version without touching its state: its task rows changed, so the rows an
    engine remembers of it are never trusted again and a command racing this change starts over."""
    session.execute(
        update(LaunchRecord)
        .where(LaunchRecord.id == launch_id)
        .values(version=LaunchRecord.version + 1, updated_at=now)
    )
