"""The outbox messages of the send and service tasks an engine step ran (engine.connectors): queued in
the same transaction as the launch's new state, so a message goes out iff the step is stored."""

from __future__ import annotations

from collections.abc import Sequence

from engine.commands.write import Message
from engine.connectors import LAUNCH_NOTICE_KIND, message_for
from engine.db.rows import LaunchRow, NewTask
from engine.model import ProcessModel
from engine.runtime import RunningWorkflow


def connector_messages(
    workflow: RunningWorkflow,
    launch: LaunchRow,
    model: ProcessModel,
    *,
    new_tasks: Sequence[NewTask] = (),
) -> list[Message]:
    """One message per send or service task that completed since the workflow last reported them. The
    launch notice links to the tasks the same step opened (the acknowledgement)."""
    fields = {
        "product_name": launch.product_name,
        "summary": launch.summary,
        "planned_launch_date": launch.planned_launch_date.isoformat(),
        "pm": launch.pm,
        "process_name": model.name,
        "launch_id": launch.id,
    }
    messages = []
    for step in workflow.take_automated():
        connector = model.connectors.get(step.bpmn_id)
        if connector is None:  # a send task that throws a BPMN message: the message events' business
            continue
        kind, payload = message_for(connector, task_id=step.id, data=step.data, fields=fields)
        if kind == LAUNCH_NOTICE_KIND:
            payload.update(
                launch_id=launch.id,
                product_name=launch.product_name,
                next_tasks=[
                    {"id": t.row.id, "bpmn_id": t.row.bpmn_id, "title": t.row.title} for t in new_tasks
                ],
            )
        messages.append(Message(kind, f"{kind}:{launch.id}:{step.id}", None, payload))
    return messages
