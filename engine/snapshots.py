"""What one process remembers about a launch between commands, trusted only at an exact version.

A command needs the launch row, its gate facts, its ready tasks and (for a review) who wrote the reviewed
document. After a command commits, the process knows all of that exactly as it wrote it, so it keeps it
beside the restored workflow under the new version. The next command on that launch in this process can
then decide without reading: its write is a conditional UPDATE on that version, so if any other writer
(another process, the worker) got in between, the write changes nothing and the command starts again
from the database. Every write to a launch's rows bumps its version; that is what makes this safe.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field

from engine.db.rows import LaunchRow, TaskRow
from engine.domain import GateFact
from engine.runtime import RunningWorkflow


@dataclass(frozen=True)
class LaunchSnapshot:
    """The rows of one launch as the database holds them at `launch.version`."""

    launch: LaunchRow
    facts: Mapping[str, GateFact]  # by gate item key
    ready: tuple[TaskRow, ...]  # the ready tasks in index order (created_at, id)
    # Who last completed a task writing each document, for the documents known here (a document that is
    # missing is unknown, not "nobody"; None means nobody has written it yet).
    authors: Mapping[str, str | None] = field(default_factory=dict)

    def ready_task(self, task_id: str) -> TaskRow | None:
        return next((t for t in self.ready if t.id == task_id), None)


@dataclass(frozen=True)
class CachedLaunch:
    """A restored workflow at `version`, with the launch's rows when this process knows them."""

    version: int
    workflow: RunningWorkflow
    snapshot: LaunchSnapshot | None


class WorkflowCache:
    """Restored workflows (and, when known, the launch's rows) keyed by launch id and version.

    An entry is taken out while a command uses it (the command mutates the workflow) and put back only
    after the command committed, under the new version. Another process's write bumps the version, so a
    stale entry is never used for a write: the conditional UPDATE refuses it."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, CachedLaunch] = OrderedDict()
        self._by_task: dict[str, str] = {}
        self._lock = threading.Lock()

    def take(self, launch_id: str, version: int) -> CachedLaunch | None:
        """This launch's entry if it is cached at exactly this version."""
        with self._lock:
            entry = self._pop(launch_id)
        return entry if entry is not None and entry.version == version else None

    def take_for_task(self, task_id: str) -> tuple[RunningWorkflow, LaunchSnapshot] | None:
        """The workflow and rows of the launch in which `task_id` was ready when this process last wrote
        it. Nothing here is checked against the database: the caller's conditional write does that."""
        with self._lock:
            launch_id = self._by_task.get(task_id)
            entry = self._pop(launch_id) if launch_id is not None else None
        if entry is None or entry.snapshot is None:
            return None
        return entry.workflow, entry.snapshot

    def put(
        self, launch_id: str, version: int, workflow: RunningWorkflow, snapshot: LaunchSnapshot | None = None
    ) -> None:
        if self._size <= 0:
            return
        if snapshot is not None and snapshot.launch.version != version:
            snapshot = None
        with self._lock:
            self._pop(launch_id)
            self._items[launch_id] = CachedLaunch(version, workflow, snapshot)
            if snapshot is not None:
                for task in snapshot.ready:
                    self._by_task[task.id] = launch_id
            while len(self._items) > self._size:
                self._pop(next(iter(self._items)))

    def _pop(self, launch_id: str) -> CachedLaunch | None:
        entry = self._items.pop(launch_id, None)
        if entry is not None and entry.snapshot is not None:
            for task in entry.snapshot.ready:
                if self._by_task.get(task.id) == launch_id:
                    del self._by_task[task.id]
        return entry
