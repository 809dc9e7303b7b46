"""What the checks of one diagram found. Every check adds to one `Findings` instead of raising, so
`bpmn check` lists every problem of a diagram, not the first one."""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from engine.errors import DiagramProblem, UnsafeExpressionError
from engine.expressions import Expression, parse_expression
from engine.specs.bpmn_xml import nearest_id
from engine.xml_safety import clean_label, has_breaking_characters


@dataclass
class Findings:
    """The problems (errors and warnings, in the order found), the form files each user task references
    (task id -> file names, resolved by the package check) and the vendor namespaces that were ignored
    (namespace -> the first element that uses it; warned about once, at the end)."""

    problems: list[DiagramProblem] = field(default_factory=list)
    form_files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ignored: dict[str, str | None] = field(default_factory=dict)
    # gateways the reading drew (engine.specs.implicit_splits) -> the element the modeler drew
    drawn_for: dict[str, str] = field(default_factory=dict)

    def problem(self, element_id: str | None, message: str) -> None:
        self._add(DiagramProblem(element_id, message))

    def warning(self, element_id: str | None, message: str) -> None:
        self._add(DiagramProblem(element_id, message, severity="warning"))

    def _add(self, found: DiagramProblem) -> None:
        """Once each: a process called from two places is read twice, its problems are news once. A
        problem of a gateway the reading drew is the drawn element's."""
        drawn_for = self.drawn_for.get(found.element_id or "")
        if drawn_for is not None:
            message = f"{found.message} (the split after it, read as a gateway)"
            found = DiagramProblem(drawn_for, message, found.severity, found.file)
        if found not in self.problems:
            self.problems.append(found)

    def note_ignored(self, namespace: str, element: etree._Element) -> None:
        """Note a vendor namespace, named by the BPMN element that uses it (a vendor element's own `id`,
        like camunda:formField's, is not one of the diagram's)."""
        parent = element.getparent()
        vendor = etree.QName(element).namespace == namespace
        self.ignored.setdefault(namespace, nearest_id(parent if vendor and parent is not None else element))

    @property
    def errors(self) -> list[DiagramProblem]:
        return [p for p in self.problems if p.is_error]


def checked_label(found: Findings, element_id: str, text: str | None) -> str | None:
    """A name as Launch Gate uses it (titles, e-mail subjects): on one line, with a warning when the
    diagram's own had line breaks or control characters."""
    if text is None:
        return None
    if has_breaking_characters(text):
        found.warning(
            element_id,
            f"the name {clean_label(text)!r} contains line breaks or control characters; "
            "Launch Gate shows it on one line",
        )
    return clean_label(text)


SAFE_GRAMMAR = (
    "Expressions use Launch Gate's safe grammar: literals, names and dotted names of the launch data, "
    "comparisons, in / not in, and / or / not; no calls, arithmetic or subscripts "
    "(e.g. proposal_review.decision == 'approve' and region in ['EMEA', 'APAC'])"
)


def checked_expression(found: Findings, element_id: str, source: str | None, what: str) -> Expression | None:
    """The parsed condition (engine.expressions' safe grammar), or None with a problem when it is unsafe."""
    if source is None:
        return None
    try:
        return parse_expression(source)
    except UnsafeExpressionError as exc:
        found.problem(element_id, f"{what} rejected: {exc.message}. {SAFE_GRAMMAR}")
        return None
