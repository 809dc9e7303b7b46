"""The package check: one answer for `launchgate bpmn check`, the HTTP upload and the admin page.

A package is checked whole: the problems met while reading it (engine.packages), every problem of every
diagram (engine.specs, which does not stop at the first one), and the files the diagrams reference. Errors
stop a deploy; warnings (ignored vendor extensions, no diagram interchange, names put on one line) do not.
Repeats are grouped, so a diagram with 213 unsupported tasks reads as one line "… and 212 more of the same".
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from engine.errors import DiagramProblem, DiagramRejectedError
from engine.forms import FormRef
from engine.forms import check_form_files as check_form_contents
from engine.forms.diagram import form_refs_in, start_event_of
from engine.packages import PackageFile, ProcessPackage
from engine.specs import inspect_diagram
from engine.xml_safety import parse_xml_document

__all__ = ["CheckReport", "ProblemGroup", "check_form_files", "check_package"]

SHOWN_PER_GROUP = 3


@dataclass(frozen=True)
class ProblemGroup:
    """Problems with the same file, severity and message: one line each for the first few elements."""

    severity: str
    file: str | None
    message: str
    element_ids: tuple[str | None, ...]

    def lines(self, *, shown: int = SHOWN_PER_GROUP) -> list[str]:
        where = f"{self.file}: " if self.file else ""
        lines = [
            f"{self.severity}: {where}{element or '(document)'}: {self.message}"
            for element in self.element_ids[:shown]
        ]
        rest = len(self.element_ids) - shown
        if rest > 0:
            lines.append(f"{self.severity}: {where}… and {rest} more of the same")
        return lines


@dataclass(frozen=True)
class CheckReport:
    source: str
    diagrams: tuple[str, ...]
    problems: tuple[DiagramProblem, ...]

    @property
    def errors(self) -> list[DiagramProblem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[DiagramProblem]:
        return [p for p in self.problems if not p.is_error]

    @property
    def deployable(self) -> bool:
        return bool(self.diagrams) and not self.errors

    def groups(self) -> list[ProblemGroup]:
        """Errors first, then warnings; within each, in the order first met."""
        found: dict[tuple[str, str | None, str], list[str | None]] = {}
        for problem in sorted(self.problems, key=lambda p: not p.is_error):
            found.setdefault((problem.severity, problem.file, problem.message), []).append(problem.element_id)
        return [ProblemGroup(sev, file, message, tuple(ids)) for (sev, file, message), ids in found.items()]

    def lines(self) -> list[str]:
        return [line for group in self.groups() for line in group.lines()]

    def summary(self) -> str:
        """One line: `OK` when the package can be deployed (with its warnings counted), else why not."""
        counts = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        if self.deployable:
            return f"{self.source}: OK" + (f" ({len(self.warnings)} warning(s))" if self.warnings else "")
        return f"{self.source}: cannot be deployed ({len(self.diagrams)} diagram(s), {counts})"


def check_form_files(
    diagram: str, references: Mapping[str, Sequence[str]], files: Iterable[PackageFile]
) -> list[DiagramProblem]:
    """Each form file a user task references must be in the package (next to the diagram, or at the path
    given relative to it). The forms module validates the files' content."""
    names = {f.name for f in files}
    folder = PurePosixPath(diagram).parent
    problems = []
    for task_id, wanted in references.items():
        for reference in wanted:
            resolved = (folder / reference).as_posix()
            if ".." in PurePosixPath(reference).parts or reference.startswith("/"):
                problems.append(
                    DiagramProblem(
                        task_id, f"form file {reference!r} must be inside the package", file=diagram
                    )
                )
            elif resolved not in names:
                problems.append(
                    DiagramProblem(task_id, f"form file {reference!r} is not in the package", file=diagram)
                )
    return problems


def referenced_files(diagram: str, references: Mapping[str, Sequence[str]]) -> set[str]:
    folder = PurePosixPath(diagram).parent
    return {(folder / ref).as_posix() for wanted in references.values() for ref in wanted}


def package_form_refs(diagram: PackageFile) -> list[FormRef]:
    """The diagram's form references as package paths (relative to the diagram's folder). A file that is
    not in the package keeps its path, so the forms check names it."""
    folder = PurePosixPath(diagram.name).parent
    try:
        refs = form_refs_in(diagram.data)
    except DiagramRejectedError:
        return []  # the diagram itself is reported
    resolved = []
    for ref in refs:
        schema = (folder / ref.schema_file).as_posix() if ref.schema_file else ""
        ui = (folder / ref.ui_file).as_posix() if ref.ui_file else None
        resolved.append(FormRef(ref.element_id, schema, ui))
    return resolved


def _form_content_problems(
    diagram: PackageFile, package: ProcessPackage, *, reported: Collection[str]
) -> list[DiagramProblem]:
    """What engine.forms finds in the form files the diagram names; a missing file of a user task was
    reported by check_form_files already."""
    files = {f.name: f.data for f in package.files}
    refs = []
    for ref in package_form_refs(diagram):
        if ref.element_id in reported and ref.schema_file not in files:
            continue
        ui = ref.ui_file if ref.ui_file in files or ref.element_id not in reported else None
        refs.append(FormRef(ref.element_id, ref.schema_file, ui))
    found = check_form_contents(files, refs, start_event=_start_event(diagram))
    return [replace(p, file=p.file or diagram.name) for p in found]


def _start_event(diagram: PackageFile) -> str | None:
    try:
        return start_event_of(parse_xml_document(diagram.data))
    except DiagramRejectedError:
        return None  # the diagram itself is reported


def check_package(
    package: ProcessPackage,
    *,
    known_forms: Collection[str] | None = None,
    called: Mapping[str, Mapping[str, bytes]] | None = None,
) -> CheckReport:
    """Every problem of a package; `known_forms` are the task ids with a built-in form; `called`: by
    diagram name, the diagrams of the processes it calls from outside itself (the package's others,
    deployed versions)."""
    problems = list(package.problems)
    used: set[str] = set()
    for diagram in package.diagrams:
        found = inspect_diagram(
            diagram.data, known_forms=known_forms, called=(called or {}).get(diagram.name)
        )
        problems.extend(replace(p, file=diagram.name) for p in found.problems)
        problems.extend(check_form_files(diagram.name, found.form_files, package.files))
        problems.extend(_form_content_problems(diagram, package, reported=found.form_files.keys()))
        used |= referenced_files(diagram.name, found.form_files)
        for ref in package_form_refs(diagram):
            used |= {ref.schema_file, ref.ui_file or ""}
    for unused in package.files:
        if unused.name not in used:
            problems.append(
                DiagramProblem(
                    None, "no diagram of the package references this file; it is ignored",
                    severity="warning", file=unused.name,
                )
            )  # fmt: skip
    return CheckReport(
        source=package.source, diagrams=tuple(d.name for d in package.diagrams), problems=tuple(problems)
    )
