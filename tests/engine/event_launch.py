"""Driving event diagrams through the engine API: deploy a small package, start launches, and after every
command replace the engine by a fresh one (state from the rows alone), check the stored state round-trips
and that the command's view equals a fresh read."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine import DeliveryConfig, LaunchView, Worker, WorkflowEngine, read_upload
from tests.engine import driver
from tests.engine.event_diagrams import diagram
from tests.engine.form_examples import VALID_LAUNCH_START


@dataclass
class EventWorld:
    engine: WorkflowEngine
    process_id: str = "events"
    launches: dict[str, str] = field(default_factory=dict)  # our name -> launch id

    def deploy(self, body: str, files: Mapping[str, bytes] | None = None) -> None:
        xml = diagram(body, process_id=self.process_id).encode()
        package = read_upload([("events.bpmn", xml), *(files or {}).items()])
        self.engine.deploy_package(package=package, actor=driver.ADMIN)

    def start(self, name: str = "a", **changes: Any) -> LaunchView:
        data = {**VALID_LAUNCH_START, **changes}
        view = self.engine.start_launch(data=data, actor=driver.PM, process_id=self.process_id)
        self.launches[name] = view.id
        return self.settled(view)

    def settled(self, view: LaunchView) -> LaunchView:
        """After a command: a fresh engine, the state round-trips, the command's view equals a fresh read."""
        self.engine = driver.restart(self.engine)
        driver.assert_state_round_trips(self.engine, view.id)
        fresh = self.engine.get_launch(launch_id=view.id, actor=driver.AUDITOR)
        assert fresh == view
        return fresh

    def view(self, name: str = "a") -> LaunchView:
        return self.engine.get_launch(launch_id=self.launches[name], actor=driver.AUDITOR)

    def open(self, name: str = "a") -> list[str]:
        return sorted(t.bpmn_id for t in self.view(name).open_tasks)

    def waiting(self, name: str = "a") -> list[tuple[str, str, str]]:
        return [(w.kind, w.name, w.element_id) for w in self.view(name).waiting]

    def complete(self, bpmn_id: str, name: str = "a", data: dict[str, Any] | None = None) -> LaunchView:
        task = next(t for t in self.view(name).open_tasks if t.bpmn_id == bpmn_id)
        view = self.engine.complete_task(task_id=task.id, data=data or {"comment": "done"}, actor=driver.PM)
        return self.settled(view)

    def send(self, message: str, payload: dict[str, Any], name: str = "a") -> LaunchView:
        view = self.engine.send_message(
            launch_id=self.launches[name], name=message, payload=payload, actor=driver.PM
        )
        return self.settled(view)

    def tick(self) -> int:
        """One worker tick (timers, then deliveries of thrown events); then a fresh engine."""
        report = Worker(self.engine, DeliveryConfig()).tick()
        self.engine = driver.restart(self.engine)
        for launch_id in self.launches.values():
            driver.assert_state_round_trips(self.engine, launch_id)
        return report.timers + report.delivered

    def audit(self, name: str = "a", action: str | None = None) -> list[dict[str, Any]]:
        return [
            dict(e.detail)
            for e in self.engine.launch_history(launch_id=self.launches[name], actor=driver.AUDITOR)
            if action is None or e.action == action
        ]

    def actions(self, name: str = "a") -> list[str]:
        return [
            e.action for e in self.engine.launch_history(launch_id=self.launches[name], actor=driver.AUDITOR)
        ]


Step = Callable[[EventWorld], object]
