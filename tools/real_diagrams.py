"""Run Launch Gate's checker over every diagram below some directories and say how many load, and why not.

    python -m tools.real_diagrams DIR... [--json] [--top N] [--timeout SECONDS]

Each .bpmn file is checked as a package of its own, as `launchgate bpmn check FILE` does. Each DIR is one
suite (e.g. the OMG interchange suite, SpiffWorkflow's test diagrams); the figures are printed per suite
and for all of them together: files, loaded (no warning), loaded with warnings, refused. The refusals are
grouped by reason: a message with its particulars (quoted names and ids, numbers, line positions, namespace
prefixes) blanked, so that the same reason groups across files. Each group counts the files that have it,
the files refused for it alone, and names one example: the file, the element id and its tag. Warnings are
grouped the same way. A file that crashes the checker or takes longer than the timeout is counted as a
refusal of its own kind (a finding: the checker must answer every file).

Nothing here is deployed or stored; the diagrams are only read.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType

from engine import WorkflowEngine, read_path
from engine.errors import DiagramProblem, DiagramRejectedError
from engine.xml_safety import parse_xml_document

__all__ = ["FileResult", "Group", "SuiteSummary", "check_file", "main", "reason", "summarise"]


class _TimeoutError(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _TimeoutError


def reason(message: str) -> str:
    """A message with its particulars blanked, so equal reasons group across files."""
    text = re.sub(r"(?<!\w)'[^']*'(?!\w)", "'…'", message)  # not the apostrophe of "Launch Gate's"
    text = re.sub(r'"[^"]*"', '"…"', text)
    text = re.sub(r"`[^`]*`", "`…`", text)
    text = re.sub(r"<[A-Za-z_][\w.-]*:", "<", text)  # <bpmn:task> and <task> are the same reason
    text = re.sub(r"\{[^}\s]*\}", "", text)  # Clark-notation namespaces
    text = re.sub(r"\(line \d+(, column \d+)?\)|\bline \d+(, column \d+)?", "(line …)", text)
    text = _ID.sub("…", text)  # unquoted generated ids (a loop's elements, for one)
    text = re.sub(r"…(?: → …)+", "… → …", text)
    text = re.sub(r"\([\w…. -]*(?:, [\w…. -]*)+\)", _id_list, text)
    return re.sub(r"\d+", "N", text)


def _id_list(match: re.Match[str]) -> str:
    """A parenthesised list of ids, whatever their number, reads `(…)`."""
    return "(…)" if re.search(r"[…\d_]", match.group()) else match.group()


# A word of six or more id characters with a digit and a letter or underscore in it: `_2f24e6da-b44f`,
# `sid-00A82BF4`, `Task_12`; not `UTF-8` or `ISO 8601` (their numbers become N below).
_ID = re.compile(r"(?<![\w.-])(?=[\w.-]*\d)(?=[\w.-]*[A-Za-z_])[\w.-]{6,}(?![\w.-])")


# How a refusal reads against issue 12: refused on purpose (the constructs Launch Gate never runs), the
# file itself is broken (not a Launch Gate limit), one of Launch Gate's structural rules that stay errors
# (every path ends, every loop waits, a start is unambiguous), or else a gap (a construct or tolerance
# still missing).
DELIBERATE = (
    "script task",
    "<preScript>",
    "<postScript>",
    "runs no code",  # a service or send task that names no built-in connector
    "never runs code",  # data transformations too
    "business-rule",
    "complex gateway",
    "ComplexGateway",
    "compensation",
    "transaction",
    "cancel event",
    "condition rejected",  # conditions outside the safe grammar
    "cardinality rejected",
    "standard loops",
    "conditional events",
    "link events",
    "ad-hoc",
    "DOCTYPE",
    "entities",
    "entity",
    "longer than the limit",
    "more often than once a minute",
    "not allowed",  # hostile markup, foreign interchange content, code of any kind
)
INVALID = (
    "not well-formed XML",
    "invalid UTF-",
    "is not a BPMN",
    "connects unknown elements",
    "names no <",
    "does not leave this gateway",
    "needs an event definition",
    "must sit on a task, sub-process or call activity beside it",
    "(no diagram found)",
    "the diagram has no process",
    "names no process",
    "names no event definition",
    "event definition is not supported on <intermediateCatchEvent>",  # BPMN has no such catch event
)


RULES = (
    "has no outgoing flow",
    "needs a condition or to be the default",
    "has no wait state",
    "expected exactly one start event",
    "a timer needs exactly one",
    "is empty: write an ISO",  # a timer that does not say when
    "is supported with one event definition",
    "every process says isExecutable",  # the modeler said so; a missing attribute counts as executable
    "cannot tell which process a launch starts",
    "neither in this diagram nor deployed",  # checked one file at a time, the called file is not there
    "is not in the package",  # the same: a form file beside the diagram in its repository
)


def kind(reason_text: str) -> str:
    """One of "deliberate", "invalid" (the file is broken), "rule" (a structural rule that stays) or
    "gap"."""
    for name, marks in (("invalid", INVALID), ("deliberate", DELIBERATE), ("rule", RULES)):
        if any(mark in reason_text for mark in marks):
            return name
    return "gap"


@dataclass(frozen=True)
class Finding:
    """One problem of one file, with its reason and the tag of the element it names."""

    reason: str
    message: str
    element_id: str | None
    element_tag: str | None


@dataclass(frozen=True)
class FileResult:
    path: str
    status: str  # "loaded", "warnings", "refused"
    errors: tuple[Finding, ...] = ()
    warnings: tuple[Finding, ...] = ()
    seconds: float = 0.0  # how long the check took (wall clock)


def _tags_by_id(data: bytes) -> dict[str, str]:
    """Each element id of the document with its local tag name ({} when the file does not parse)."""
    try:
        root = parse_xml_document(data)
    except DiagramRejectedError:
        return {}
    tags: dict[str, str] = {}
    for element in root.iter():
        identifier = element.get("id")
        if identifier and isinstance(element.tag, str):
            tags.setdefault(identifier, element.tag.rpartition("}")[2])
    return tags


def _findings(problems: Iterable[DiagramProblem], tags: dict[str, str]) -> tuple[Finding, ...]:
    return tuple(
        Finding(reason(p.message), p.message, p.element_id, tags.get(p.element_id or "")) for p in problems
    )


def check_file(path: Path, *, timeout: int = 30, shown: str | None = None) -> FileResult:
    """The checker's answer for one diagram (named `shown` in the result, by default its path); a crash
    or a timeout is a refusal of its own kind."""
    name = shown or str(path)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        report = WorkflowEngine.check_package(read_path(path))
    except _TimeoutError:
        return FileResult(name, "refused", (Finding("(took longer than the timeout)", "", None, None),))
    except Exception as exc:  # a crash is a finding: count it, go on with the next file
        crash = Finding(f"(crash: {type(exc).__name__})", str(exc), None, None)
        return FileResult(name, "refused", (crash,))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    tags = _tags_by_id(path.read_bytes()) if report.problems else {}
    errors, warnings = _findings(report.errors, tags), _findings(report.warnings, tags)
    if report.deployable:
        return FileResult(name, "warnings" if warnings else "loaded", (), warnings)
    if not errors:  # no diagram in the package, nothing else said
        errors = (Finding("(no diagram found)", "", None, None),)
    return FileResult(name, "refused", errors, warnings)


@dataclass
class Group:
    """One reason: how many files have it, how many for it alone, and one example."""

    reason: str
    files: int = 0
    alone: int = 0
    example_file: str = ""
    example_element: str | None = None
    example_tag: str | None = None
    example_message: str = ""
    kind: str = ""

    def __post_init__(self) -> None:
        self.kind = self.kind or kind(self.reason)

    def add(self, result: FileResult, finding: Finding, *, alone: bool) -> None:
        self.files += 1
        self.alone += alone
        if not self.example_file:
            self.example_file = result.path
            self.example_element, self.example_tag = finding.element_id, finding.element_tag
            self.example_message = finding.message


@dataclass
class SuiteSummary:
    name: str
    total: int = 0
    loaded: int = 0
    warned: int = 0
    refused: int = 0
    refusals: dict[str, Group] = field(default_factory=dict)
    warnings: dict[str, Group] = field(default_factory=dict)
    deliberate_only: int = 0  # refused files with no gap among their reasons
    slowest: tuple[float, str] = (0.0, "")

    def add(self, result: FileResult) -> None:
        self.total += 1
        self.slowest = max(self.slowest, (result.seconds, result.path))
        self.deliberate_only += bool(result.errors) and all(kind(f.reason) != "gap" for f in result.errors)
        self.loaded += result.status == "loaded"
        self.warned += result.status == "warnings"
        self.refused += result.status == "refused"
        reasons = {f.reason for f in result.errors}
        _group(self.refusals, result, result.errors, alone=len(reasons) == 1)
        _group(self.warnings, result, result.warnings, alone=False)

    def ranked(self, groups: dict[str, Group]) -> list[Group]:
        return sorted(groups.values(), key=lambda g: (-g.files, g.reason))

    def as_json(self) -> dict[str, object]:
        return {
            "suite": self.name,
            "total": self.total,
            "loaded": self.loaded,
            "loaded_with_warnings": self.warned,
            "refused": self.refused,
            "refused_without_a_gap": self.deliberate_only,
            "slowest_s": round(self.slowest[0], 3),
            "slowest_file": self.slowest[1],
            "refusals": [vars(g) for g in self.ranked(self.refusals)],
            "warnings": [vars(g) for g in self.ranked(self.warnings)],
        }


def _group(groups: dict[str, Group], result: FileResult, findings: Sequence[Finding], *, alone: bool) -> None:
    """Each distinct reason of a file counts the file once, with its first element as the example."""
    seen: set[str] = set()
    for finding in findings:
        if finding.reason not in seen:
            seen.add(finding.reason)
            groups.setdefault(finding.reason, Group(finding.reason)).add(result, finding, alone=alone)


def diagrams_under(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.bpmn") if p.is_file() and not p.is_symlink())


def summarise(roots: Sequence[Path], *, timeout: int = 30) -> list[SuiteSummary]:
    """One summary per root, then (with more than one root) one of them all together."""
    suites = [SuiteSummary(str(root)) for root in roots]
    overall = SuiteSummary("all")
    for root, suite in zip(roots, suites, strict=True):
        for path in diagrams_under(root):
            shown = path.relative_to(root).as_posix() if path != root else path.name
            started = time.perf_counter()
            result = check_file(path, timeout=timeout, shown=shown)
            result = replace(result, seconds=time.perf_counter() - started)
            suite.add(result)
            overall.add(replace(result, path=f"{root.name}/{shown}"))
    return [*suites, overall] if len(suites) > 1 else suites


def _example(group: Group) -> str:
    element = f" {group.example_element}" if group.example_element else ""
    tag = f" <{group.example_tag}>" if group.example_tag else ""
    return f"e.g. {group.example_file}{element}{tag}"


def render(suites: Sequence[SuiteSummary], *, top: int) -> list[str]:
    lines = []
    for suite in suites:
        lines.append(
            f"== {suite.name}: {suite.total} files, {suite.loaded + suite.warned} load "
            f"({suite.loaded} clean, {suite.warned} with warnings), {suite.refused} refused"
        )
        lines.append(
            f"   refused with no gap among its reasons (deliberate, rule, broken): {suite.deliberate_only}"
        )
        lines.append(f"   slowest check: {suite.slowest[0]:.2f} s ({suite.slowest[1]})")
        for title, groups in (("refusals", suite.refusals), ("warnings", suite.warnings)):
            ranked = suite.ranked(groups)
            lines.append(f"-- {title} by reason (files having it / refused for it alone)")
            for group in ranked[:top]:
                alone = f" / {group.alone}" if title == "refusals" else ""
                tag = f"[{group.kind}] " if title == "refusals" else ""
                lines.append(f"{group.files:6d}{alone:>7}  {tag}{group.reason}")
                lines.append(f"{'':15}{_example(group)}")
            if len(ranked) > top:
                lines.append(f"        … and {len(ranked) - top} more reasons")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("directories", type=Path, nargs="+", metavar="DIR")
    parser.add_argument("--json", action="store_true", help="print the summaries as JSON")
    parser.add_argument("--top", type=int, default=30, help="reasons shown per table (text output)")
    parser.add_argument("--timeout", type=int, default=30, help="seconds per file")
    args = parser.parse_args(argv)
    missing = [str(d) for d in args.directories if not d.exists()]
    if missing:
        parser.error(f"no such file or directory: {', '.join(missing)}")
    suites = summarise(args.directories, timeout=args.timeout)
    if args.json:
        print(json.dumps([s.as_json() for s in suites], indent=2, ensure_ascii=False))
    else:
        print("\n".join(render(suites, top=args.top)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
