"""The processes of one diagram file and which of them a launch starts (`list_processes`).

- A process is executable unless it says `isExecutable="false"` (a missing attribute counts as
  executable, as most modelers leave it out). A collaboration's pools without an executable process are
  context (a customer, a partner) and are not run.
- Called: a process some call activity of the file names (`calledElement`).
- Main (the one a launch starts): the executable process marked with the process property `main` = `true`
  if one is; else the one executable process no call activity of the file calls. Anything else is an
  error naming the candidates.
- Checked: the main process and every process of the file it may call, executable or not, and every
  other executable process.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from engine.specs.bpmn_xml import BPMN_NS, NS, properties

MAIN_PROPERTY = "main"


@dataclass(frozen=True)
class ProcessEntry:
    id: str
    element: etree._Element
    executable: bool
    called: bool  # some call activity of this file names it


@dataclass(frozen=True)
class FileProcesses:
    """Every process of a <definitions>, in document order, and which is the main one."""

    entries: tuple[ProcessEntry, ...]
    main: ProcessEntry | None
    problem: str | None  # why there is no main process (None when there is one)

    @property
    def checked(self) -> tuple[ProcessEntry, ...]:
        """The processes the checker checks: the executable ones and the called ones."""
        return tuple(e for e in self.entries if e.executable or e.called)

    def by_id(self, process_id: str) -> ProcessEntry | None:
        return next((e for e in self.entries if e.id == process_id), None)


def called_elements(root: etree._Element) -> set[str]:
    """The ids every call activity of the file names."""
    return {
        (ca.get("calledElement") or "").strip()
        for ca in root.iter(f"{{{BPMN_NS}}}callActivity")
        if (ca.get("calledElement") or "").strip()
    }


def list_processes(root: etree._Element) -> FileProcesses:
    """The processes of the file with the main one (see the module docstring)."""
    called = called_elements(root)
    entries = tuple(
        ProcessEntry(
            id=p.get("id") or "",
            element=p,
            executable=(p.get("isExecutable") or "").strip().lower() != "false",
            called=(p.get("id") or "") in called,
        )
        for p in root.iterfind("bpmn:process", NS)
    )
    executable = [e for e in entries if e.executable]
    if not executable:
        return FileProcesses(entries, None, _none_executable(entries))
    named = [e for e in executable if properties(e.element).get(MAIN_PROPERTY, "").lower() == "true"]
    if len(named) == 1:
        return FileProcesses(entries, named[0], None)
    if len(named) > 1:
        ids = ", ".join(e.id for e in named)
        return FileProcesses(entries, None, f"several processes are marked main=true ({ids}): mark one")
    uncalled = [e for e in executable if not e.called]
    if len(uncalled) == 1:
        return FileProcesses(entries, uncalled[0], None)
    candidates = ", ".join(e.id for e in (uncalled or executable))
    return FileProcesses(
        entries,
        None,
        f"cannot tell which process a launch starts: {len(uncalled)} executable processes are called "
        f"by no call activity ({candidates}); mark the one to start with the property "
        f'{MAIN_PROPERTY}=true, or isExecutable="false" on the others',
    )


def _none_executable(entries: tuple[ProcessEntry, ...]) -> str:
    if not entries:
        return "the diagram has no process"
    return 'expected an executable process: every process says isExecutable="false"'
