"""The two baselines every figure is compared with, measured in the same run on the same database.

1. The durable commit floor: a one-row INSERT + COMMIT into a scratch table, through an engine built by
   engine.db.session.create_db_engine (SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL: default).
2. The naive way of driving SpiffWorkflow: per step, read the row, restore the full JSON with the spec
   inside (SpiffWorkflow's default BpmnWorkflowSerializer), complete the ready task, run engine steps,
   serialize with the spec, UPDATE the row, COMMIT. Only our SafeScriptEngine is borrowed (the diagram's
   conditions use dotted names on dicts, which Spiff's default evaluator cannot read): no compaction, no
   cache, no task index, no validation, no audit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.defaults import UserTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, Text, insert, select, update

from bench.databases import BPMN_DIR
from bench.stats import Summary
from engine.db.session import create_db_engine
from engine.runtime import SafeScriptEngine

# The naive baseline runs plain SpiffWorkflow, which cannot read the shipped diagram since launch_gate v3
# (its proposal review is a multi-instance over a collection named by our `collection` property): it runs
# v2, the same process with one review, kept as a test fixture.
BPMN_FILE = BPMN_DIR.parent / "tests" / "fixtures" / "bpmn" / "launch_gate_v2.bpmn"
PROCESS_ID = "launch_gate"
_WRITE = {"launchgate_write": True}  # SQLite: BEGIN IMMEDIATE, as the engine's write transactions
_NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}


# ---------------------------------------------------------------------------------------- commit floor


def commit_floor_samples(url: str, samples: int, *, warmup: int = 20) -> list[int]:
    """Nanoseconds per one-row INSERT + COMMIT (a new transaction each time, pooled connection)."""
    db_engine = create_db_engine(url)
    metadata = MetaData()
    table = Table(
        f"bench_commit_floor_{uuid.uuid4().hex[:8]}",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("payload", String(100), nullable=False),
    )
    metadata.create_all(db_engine)
    writer = db_engine.execution_options(**_WRITE)
    statement = insert(table)
    out: list[int] = []
    try:
        for i in range(warmup + samples):
            started = time.perf_counter_ns()
            with writer.begin() as conn:
                conn.execute(statement, {"payload": f"row {i}"})
            if i >= warmup:
                out.append(time.perf_counter_ns() - started)
    finally:
        metadata.drop_all(db_engine)
        db_engine.dispose()
    return out


# ---------------------------------------------------------------------------------------- naive Spiff


def document_names(bpmn_file: Path = BPMN_FILE) -> dict[str, str]:
    """bpmn id -> the document key its form is stored under (spiffworkflow:property name="document")."""
    root = etree.parse(str(bpmn_file)).getroot()  # our own shipped file
    names: dict[str, str] = {}
    for node in root.iter(f"{{{_NS['bpmn']}}}userTask"):
        for prop in node.iterfind(".//spiffworkflow:property", _NS):
            if prop.get("name") == "document":
                names[str(node.get("id"))] = str(prop.get("value"))
    return names


@dataclass
class NaiveStep:
    bpmn_id: str
    elapsed_ns: int
    finished: bool
    state_chars: int


@dataclass
class NaiveRun:
    steps: list[NaiveStep] = field(default_factory=list)
    total_ns: int = 0
    finished: bool = False


class NaiveSpiff:
    """Drives the shipped diagram the naive way, one row per instance in a scratch table."""

    def __init__(self, url: str) -> None:
        parser = BpmnParser()
        parser.add_bpmn_file(str(BPMN_FILE))
        self.spec = parser.get_spec(PROCESS_ID)
        self.serializer = BpmnWorkflowSerializer()
        self.script_engine = SafeScriptEngine()
        self.documents = document_names()
        self.db_engine: Engine = create_db_engine(url)
        self._metadata = MetaData()
        self.table = Table(
            "bench_naive_instance",
            self._metadata,
            Column("id", String(36), primary_key=True),
            Column("state", Text, nullable=False),
            Column("version", Integer, nullable=False),
        )
        self._metadata.create_all(self.db_engine)
        self._writer = self.db_engine.execution_options(**_WRITE)

    def close(self) -> None:
        self._metadata.drop_all(self.db_engine)
        self.db_engine.dispose()

    def start(self, start_data: Mapping[str, Any]) -> str:
        workflow = BpmnWorkflow(self.spec, script_engine=self.script_engine)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data["launch"] = dict(start_data)
        workflow.do_engine_steps()
        instance_id = str(uuid.uuid4())
        state = self.serializer.serialize_json(workflow)
        with self._writer.begin() as conn:
            conn.execute(insert(self.table).values(id=instance_id, state=state, version=1))
        return instance_id

    def step(self, instance_id: str, form_for: Callable[[str], dict[str, Any]]) -> NaiveStep:
        """One user step: read, restore (spec inside), complete the first ready user task, serialize,
        UPDATE, COMMIT."""
        started = time.perf_counter_ns()
        with self._writer.begin() as conn:
            state, version = conn.execute(
                select(self.table.c.state, self.table.c.version).where(self.table.c.id == instance_id)
            ).one()
            workflow = self.serializer.deserialize_json(state)
            workflow.script_engine = self.script_engine
            ready = [
                t for t in workflow.get_tasks(state=TaskState.READY) if isinstance(t.task_spec, UserTask)
            ]
            if not ready:
                raise RuntimeError("naive workflow has no ready user task")
            task = ready[0]
            bpmn_id = str(task.task_spec.bpmn_id)
            task.data[self.documents[bpmn_id]] = form_for(bpmn_id)
            task.run()
            workflow.do_engine_steps()
            finished = bool(workflow.is_completed())
            new_state = self.serializer.serialize_json(workflow)
            conn.execute(
                update(self.table)
                .where(self.table.c.id == instance_id, self.table.c.version == version)
                .values(state=new_state, version=version + 1)
            )
        return NaiveStep(bpmn_id, time.perf_counter_ns() - started, finished, len(new_state))

    def ready_ids(self, instance_id: str) -> list[str]:
        with self.db_engine.connect() as conn:
            state = conn.execute(
                select(self.table.c.state).where(self.table.c.id == instance_id)
            ).scalar_one()
        workflow = self.serializer.deserialize_json(state)
        return [
            str(t.task_spec.bpmn_id)
            for t in workflow.get_tasks(state=TaskState.READY)
            if isinstance(t.task_spec, UserTask)
        ]

    def run_launch(
        self, start_data: Mapping[str, Any], form_for: Callable[[str], dict[str, Any]], max_steps: int = 50
    ) -> NaiveRun:
        run = NaiveRun()
        started = time.perf_counter_ns()
        instance_id = self.start(start_data)
        for _ in range(max_steps):
            step = self.step(instance_id, form_for)
            run.steps.append(step)
            if step.finished:
                run.finished = True
                break
        run.total_ns = time.perf_counter_ns() - started
        return run


@dataclass(frozen=True)
class Baselines:
    floor: Summary
    floor_samples_ns: list[int]
    naive_step: Summary
    naive_launch: Summary
    naive_steps_per_launch: int
    naive_state_chars: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "commit_floor_ms": self.floor.as_dict(),
            "naive_step_ms": self.naive_step.as_dict(),
            "naive_whole_launch_ms": self.naive_launch.as_dict(),
            "naive_steps_per_launch": self.naive_steps_per_launch,
            "naive_state_chars": self.naive_state_chars,
        }


def measure_naive(
    url: str, launches: int, start_data: Mapping[str, Any], forms: Mapping[str, dict[str, Any]]
) -> tuple[list[int], list[int], int, int]:
    """(step ns, whole-launch ns, steps per launch, final state size) for `launches` happy-path launches,
    after one untimed warm-up launch."""
    naive = NaiveSpiff(url)
    try:
        naive.run_launch(start_data, lambda b: dict(forms[b]))  # warm-up
        steps: list[int] = []
        totals: list[int] = []
        count = size = 0
        for _ in range(launches):
            run = naive.run_launch(start_data, lambda b: dict(forms[b]))
            if not run.finished:
                raise RuntimeError("the naive baseline did not finish a launch")
            steps.extend(s.elapsed_ns for s in run.steps)
            totals.append(run.total_ns)
            count = len(run.steps)
            size = run.steps[-1].state_chars
        return steps, totals, count, size
    finally:
        naive.close()
