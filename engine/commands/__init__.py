"""The engine's commands: everything that changes a launch, one module per family.

- start.py       start a launch
- complete.py    complete a ready task (the hot path)
- assignment.py  claim, release, assign a task; who it may be assigned to
- timers.py      fire the BPMN timers that are due
- notes.py       drafts and comments (beside the workflow; no launch version)
- processes.py   deploy a process version

The machinery they share: context.py (database, clock, cache, loaded processes, the first checks),
runner.py (`run_command`: retry on a lost race, the audit of every refusal) and write.py (the write of a
launch change: one transaction). WorkflowEngine (engine/service.py) is the facade that calls them.
"""
