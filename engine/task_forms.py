"""Task forms: one Pydantic model per user task, the single validation path for the UI and the API.

Every model forbids unknown fields, strips surrounding whitespace from strings and puts a limit on every
value (string lengths, list sizes, enums, number and date ranges), so that what is stored in the workflow
data is always small and well formed. Each field carries a title and a description, which the UI reads
from the JSON schema.

Callers use :func:`validate_task_data` (or :func:`validate_launch_start` for the start of a launch): it
returns JSON-safe data (dates as ISO strings) and turns pydantic's errors into
:class:`engine.errors.ValidationFailedError` with one :class:`engine.errors.FieldProblem` per error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any, Final
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from engine.errors import FieldProblem, ValidationFailedError

__all__ = [
    "TASK_FORMS",
    "AcknowledgeLaunchNoticeForm",
    "AnticipatedQuestion",
    "BetaIssue",
    "Cadence",
    "Category",
    "CompleteBetaFaqForm",
    "Contact",
    "Decision",
    "DraftProposalForm",
    "DraftReportTemplateForm",
    "FaqEntry",
    "FormRow",
    "GoLiveForm",
    "LaunchStartForm",
    "Metric",
    "OpenBetaForm",
    "QuestionKind",
    "ReviewDecisionForm",
    "ReviewProposalForm",
    "ReviewReportTemplateForm",
    "ReviseProposalForm",
    "Risk",
    "SendLaunchNoticeForm",
    "Severity",
    "TaskForm",
    "TestAccount",
    "form_json_schema",
    "form_model_for",
    "validate_launch_start",
    "validate_task_data",
]

# --------------------------------------------------------------------------------------------------------
# Limits

SHORT_TEXT_MAX: Final = 200
LONG_TEXT_MAX: Final = 4000
URL_MAX: Final = 2000
EMAIL_MAX: Final = 254
EMAIL_LOCAL_MAX: Final = 64
PRODUCT_NAME_MAX: Final = 120
SUMMARY_MAX: Final = 280
CONTACTS_PER_WEEK_MAX: Final = 1_000_000
EARLIEST_DATE: Final = date(2000, 1, 1)
LATEST_DATE: Final = date(2100, 12, 31)
EARLIEST_DATETIME: Final = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_DATETIME: Final = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)

_FORM_CONFIG: Final = ConfigDict(extra="forbid", str_strip_whitespace=True)

# --------------------------------------------------------------------------------------------------------
# Value checks (each raises PydanticCustomError, so messages reach the user without a "Value error," prefix)

_LINE_BREAKS: Final = re.compile(r"[\r\n\u2028\u2029\x85]")
_CONTROL_CHARS: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL: Final = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


def _check_text(value: str) -> str:
    """Multi-line text: line breaks and tabs are fine, other control characters are not."""
    if _CONTROL_CHARS.search(value):
        raise PydanticCustomError("control_characters", "Text should not contain control characters")
    return value


def _check_single_line(value: str) -> str:
    """One-line text: no line breaks and no control characters."""
    if _LINE_BREAKS.search(value):
        raise PydanticCustomError("single_line", "Text should be a single line (no line breaks)")
    if "\t" in value:
        raise PydanticCustomError("control_characters", "Text should not contain control characters")
    return _check_text(value)


def _check_email(value: str) -> str:
    """A deliberately simple, strict check (``local@domain.tld``, ASCII only); lower-cases the domain."""
    match = _EMAIL.fullmatch(value)
    if match is None or len(value) > EMAIL_MAX or len(match["local"]) > EMAIL_LOCAL_MAX:
        raise PydanticCustomError("email_invalid", "Enter a valid e-mail address, like name@example.com")
    return f"{match['local']}@{match['domain'].lower()}"


def _check_http_url(value: str) -> str:
    """An absolute http:// or https:// URL with a host name. The text is kept as given."""
    if any(char.isspace() for char in value) or _CONTROL_CHARS.search(value):
        raise PydanticCustomError("url_invalid", "URL should not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        raise PydanticCustomError("url_invalid", "Enter a valid URL, like https://beta.example.com") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise PydanticCustomError("url_scheme", "URL should start with http:// or https://")
    if not parts.hostname:
        raise PydanticCustomError("url_host", "URL should include a host name, like https://beta.example.com")
    return value


def _check_known_task(value: str) -> str:
    """A user task id that Launch Gate has a form for (e.g. review_proposal)."""
    if value not in TASK_FORMS:
        raise PydanticCustomError(
            "unknown_task", "'{value}' is not a task id, like review_proposal", {"value": value}
        )
    return value


def _reject_bool(value: object) -> object:
    """Booleans are ints in Python; a count given as ``true`` is a mistake, not 1."""
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _blank_to_none(value: object) -> object:
    """An empty optional choice (a blank select in an HTML form) means "none"."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _duplicate_problems(keys: Sequence[str], *, loc_suffix: tuple[str, ...] = ()) -> list[InitErrorDetails]:
    """One problem per entry that repeats an earlier one (compared case-insensitively), at that entry."""
    seen: set[str] = set()
    problems: list[InitErrorDetails] = []
    for index, key in enumerate(keys):
        folded = key.casefold()
        if folded in seen:
            problems.append(
                InitErrorDetails(
                    type=PydanticCustomError(
                        "duplicate",
                        "'{value}' is listed more than once; entries must be unique",
                        {"value": key},
                    ),
                    loc=(index, *loc_suffix),
                    input=key,
                )
            )
        seen.add(folded)
    return problems


def _raise_problems(problems: list[InitErrorDetails]) -> None:
    """Report problems located inside a list (row index, field); pydantic prefixes the list's own loc."""
    if problems:
        raise ValidationError.from_exception_data("task form", problems)


def _unique_texts(values: list[str]) -> list[str]:
    _raise_problems(_duplicate_problems(values))
    return values


def _must_be_true(message: str) -> AfterValidator:
    def check(value: bool) -> bool:
        if value is not True:
            raise PydanticCustomError("must_be_true", message)
        return value

    return AfterValidator(check)


# --------------------------------------------------------------------------------------------------------
# Value types

ShortText = Annotated[str, Field(min_length=1, max_length=SHORT_TEXT_MAX), AfterValidator(_check_single_line)]
"""One line, 1-200 characters after stripping."""

OptionalShortText = Annotated[str, Field(max_length=SHORT_TEXT_MAX), AfterValidator(_check_single_line)]
"""One line, 0-200 characters."""

LongText = Annotated[str, Field(min_length=1, max_length=LONG_TEXT_MAX), AfterValidator(_check_text)]
"""Multi-line text, 1-4000 characters after stripping."""

OptionalLongText = Annotated[str, Field(max_length=LONG_TEXT_MAX), AfterValidator(_check_text)]
"""Multi-line text, 0-4000 characters."""

HttpUrlText = Annotated[
    str,
    Field(min_length=1, max_length=URL_MAX, json_schema_extra={"format": "uri"}),
    AfterValidator(_check_http_url),
]
EmailText = Annotated[
    str,
    Field(min_length=3, max_length=EMAIL_MAX, json_schema_extra={"format": "email"}),
    AfterValidator(_check_email),
]
FormDate = Annotated[date, Field(ge=EARLIEST_DATE, le=LATEST_DATE)]
FormDateTime = Annotated[AwareDatetime, Field(ge=EARLIEST_DATETIME, le=LATEST_DATETIME)]
UniqueShortTexts = Annotated[list[ShortText], AfterValidator(_unique_texts)]


class Decision(StrEnum):
    """The outcome of a review task."""

    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"


class QuestionKind(StrEnum):
    QUESTION = "question"
    COMPLAINT = "complaint"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"


# --------------------------------------------------------------------------------------------------------
# Bases and rows


class TaskForm(BaseModel):
    """Base of every task form: unknown fields are rejected, strings are stripped."""

    model_config = _FORM_CONFIG


class FormRow(BaseModel):
    """Base of a row inside a form's list (same rules as a form)."""

    model_config = _FORM_CONFIG


class Risk(FormRow):
    """A known risk of the launch and how it is mitigated."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"description": "Invoices may be sent twice", "mitigation": "Idempotency keys"}]
        }
    )

    description: LongText = Field(title="Risk", description="What could go wrong.")
    mitigation: OptionalLongText = Field(
        default="", title="Mitigation", description="What is done about it (may be left empty)."
    )


class AnticipatedQuestion(FormRow):
    """A question or complaint support expects from customers."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"kind": "question", "text": "Can I export invoices to PDF?"}]}
    )

    kind: QuestionKind = Field(title="Kind", description="A question or a complaint.")
    text: LongText = Field(title="Text", description="The question or complaint, in the customer's words.")


class TestAccount(FormRow):
    """A beta account support can use. Never put a password here."""

    __test__ = False  # not a pytest test class, despite the name

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"username": "support-1", "notes": "EU tenant"}]}
    )

    username: ShortText = Field(title="Username", description="The account's login name.")
    notes: OptionalShortText = Field(
        default="",
        title="Notes",
        description="Anything support should know about the account (no passwords).",
    )


class FaqEntry(FormRow):
    """One entry of the internal FAQ."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": "How do I resend an invoice?",
                    "answer": "Open the invoice and choose Resend.",
                    "category": "Invoices",
                }
            ]
        }
    )

    question: ShortText = Field(title="Question", description="The question, as a customer would ask it.")
    answer: LongText = Field(title="Answer", description="The answer support gives.")
    category: ShortText = Field(title="Category", description="The FAQ section the entry belongs to.")


class Contact(FormRow):
    """A person to contact, with an e-mail address."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Ada Lovelace", "email": "ada@example.com", "role": "Tech lead"}]
        }
    )

    name: ShortText = Field(title="Name", description="The person's name.")
    email: EmailText = Field(title="E-mail", description="The person's e-mail address.")
    role: OptionalShortText = Field(default="", title="Role", description="Their role (may be left empty).")


class BetaIssue(FormRow):
    """An issue support found during the beta."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"description": "PDF export times out", "severity": "high"}]}
    )

    description: LongText = Field(title="Issue", description="What went wrong and how to reproduce it.")
    severity: Severity = Field(title="Severity", description="How bad it is: low, medium, high or critical.")


class Metric(FormRow):
    """A metric of the support report."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Contacts", "definition": "Number of contacts per week."}]}
    )

    name: ShortText = Field(title="Name", description="The metric's name (unique in the template).")
    definition: LongText = Field(title="Definition", description="How the metric is computed.")


class Category(FormRow):
    """A node of the category tree contacts are filed under."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"name": "Billing", "parent": None}, {"name": "Refunds", "parent": "Billing"}]
        }
    )

    name: ShortText = Field(title="Name", description="The category's name (unique in the template).")
    parent: Annotated[ShortText | None, BeforeValidator(_blank_to_none)] = Field(
        default=None,
        title="Parent",
        description="The exact name of the parent category in this list; empty for a top-level category.",
    )


# --------------------------------------------------------------------------------------------------------
# Forms


class LaunchStartForm(TaskForm):
    """The start of a launch."""

    model_config = ConfigDict(
        title="Start a launch",
        json_schema_extra={
            "examples": [
                {
                    "product_name": "Smart Invoices",
                    "summary": "Automatic invoice reminders for small businesses.",
                    "planned_launch_date": "2030-06-01",
                }
            ]
        },
    )

    product_name: Annotated[
        str, Field(min_length=1, max_length=PRODUCT_NAME_MAX), AfterValidator(_check_single_line)
    ] = Field(title="Product name", description="The product or feature being launched.")
    summary: Annotated[
        str, Field(min_length=1, max_length=SUMMARY_MAX), AfterValidator(_check_single_line)
    ] = Field(title="Summary", description="One line on what is launched and for whom.")
    planned_launch_date: FormDate = Field(
        title="Planned launch date", description="The day the launch is planned to go live."
    )
    support_distribution: Annotated[list[EmailText], AfterValidator(_unique_texts)] = Field(
        default_factory=list,
        max_length=50,
        title="Support distribution list",
        description="Where the launch notice is e-mailed (at most 50 addresses; none: the configured "
        "default list).",
    )
    due_overrides: dict[
        Annotated[str, AfterValidator(_check_known_task)],
        Annotated[int, BeforeValidator(_reject_bool), Field(ge=1, le=365)],
    ] = Field(
        default_factory=dict,
        max_length=50,
        title="Due dates",
        description="Business days (1-365) a task has once it is ready, by task id, instead of the "
        "diagram's default.",
    )


class DraftProposalForm(TaskForm):
    """The launch proposal, with its expected impact on support."""

    model_config = ConfigDict(title="Draft proposal")

    problem: LongText = Field(title="Problem", description="The customer problem the launch solves.")
    summary: LongText = Field(title="Summary", description="What is launched, in a few sentences.")
    target_users: LongText = Field(title="Target users", description="Who the launch is for.")
    scope: LongText = Field(title="Scope", description="What is in and out of scope.")
    channels: UniqueShortTexts = Field(
        min_length=1,
        max_length=20,
        title="Channels",
        description="Where users meet the change (web, app, e-mail, ...); 1-20, no duplicates.",
    )
    planned_launch_date: FormDate = Field(
        title="Planned launch date", description="The day the launch is planned to go live."
    )
    estimated_contacts_per_week: Annotated[int, BeforeValidator(_reject_bool)] = Field(
        ge=0,
        le=CONTACTS_PER_WEEK_MAX,
        title="Estimated contacts per week",
        description="How many support contacts per week the launch is expected to cause.",
    )
    expected_question_types: list[ShortText] = Field(
        default_factory=list,
        max_length=50,
        title="Expected question types",
        description="New kinds of questions support should expect (up to 50).",
    )
    known_risks: list[Risk] = Field(
        default_factory=list,
        max_length=50,
        title="Known risks",
        description="Risks known today and their mitigation (up to 50).",
    )


class ReviseProposalForm(DraftProposalForm):
    """The proposal, revised after a review that requested changes."""

    model_config = ConfigDict(title="Revise proposal")

    changes_made: LongText = Field(
        title="Changes made", description="What changed since the review, answering the reviewer's comment."
    )


class ReviewDecisionForm(TaskForm):
    """A review: a decision, and a comment that is required when changes are requested."""

    decision: Decision = Field(title="Decision", description="Approve, or request changes.")
    comment: OptionalLongText = Field(
        default="",
        validate_default=True,
        title="Comment",
        description="Always recorded; required when requesting changes (say what should change).",
    )

    @field_validator("comment")
    @classmethod
    def _comment_required_for_changes(cls, comment: str, info: ValidationInfo) -> str:
        if info.data.get("decision") == Decision.REQUEST_CHANGES and not comment:
            raise PydanticCustomError(
                "comment_required", "A comment is required when requesting changes: say what should change"
            )
        return comment


class ReviewProposalForm(ReviewDecisionForm):
    """Support's review of the proposal (gate item: proposal sign-off)."""

    model_config = ConfigDict(title="Review proposal")

    anticipated_questions: list[AnticipatedQuestion] = Field(
        default_factory=list,
        max_length=100,
        title="Anticipated questions and complaints",
        description="The customer's voice: questions and complaints support expects (up to 100).",
    )


class OpenBetaForm(TaskForm):
    """The beta environment support can use before the launch."""

    model_config = ConfigDict(title="Open beta")

    beta_url: HttpUrlText = Field(
        title="Beta link", description="The beta environment's address (http:// or https://)."
    )
    test_accounts: list[TestAccount] = Field(
        min_length=1,
        max_length=50,
        title="Test accounts",
        description="Accounts support can use in the beta (1-50; no passwords here).",
    )
    beta_start: FormDate = Field(title="Beta start", description="The first day of the beta.")
    beta_end: FormDate = Field(
        title="Beta end", description="The last day of the beta (not before the start)."
    )

    @field_validator("beta_end")
    @classmethod
    def _end_not_before_start(cls, beta_end: date, info: ValidationInfo) -> date:
        beta_start = info.data.get("beta_start")
        if isinstance(beta_start, date) and beta_end < beta_start:
            raise PydanticCustomError(
                "date_order",
                "Beta end ({beta_end}) should not be before beta start ({beta_start})",
                {"beta_end": beta_end.isoformat(), "beta_start": beta_start.isoformat()},
            )
        return beta_end


class CompleteBetaFaqForm(TaskForm):
    """Support's internal FAQ, problem-handling procedure and beta findings (gate item: beta FAQ)."""

    model_config = ConfigDict(title="Complete beta FAQ")

    faq_entries: list[FaqEntry] = Field(
        min_length=3, max_length=200, title="FAQ entries", description="At least 3 entries (at most 200)."
    )
    procedure_steps: list[LongText] = Field(
        min_length=1,
        max_length=50,
        title="Problem-handling procedure",
        description="The steps support follows when a customer reports a problem (1-50).",
    )
    escalation_contacts: list[Contact] = Field(
        min_length=1,
        max_length=20,
        title="Escalation contacts",
        description="Who support escalates to (1-20).",
    )
    beta_issues: list[BetaIssue] = Field(
        default_factory=list,
        max_length=200,
        title="Beta issues",
        description="Issues support found in the beta, with their severity (up to 200).",
    )


class DraftReportTemplateForm(TaskForm):
    """The structure of the product's support report."""

    model_config = ConfigDict(title="Draft report template")

    metrics: list[Metric] = Field(
        min_length=1, max_length=50, title="Metrics", description="The report's metrics (1-50, unique names)."
    )
    categories: list[Category] = Field(
        min_length=1,
        max_length=200,
        title="Categories",
        description="The category tree contacts are filed under (1-200, unique names; a parent names "
        "another category in the list).",
    )
    contact_fields: UniqueShortTexts = Field(
        min_length=1,
        max_length=50,
        title="Fields per contact",
        description="What is recorded for each contact (1-50, no duplicates).",
    )
    cadence: Cadence = Field(title="Cadence", description="How often the report is produced.")

    @field_validator("metrics")
    @classmethod
    def _unique_metric_names(cls, metrics: list[Metric]) -> list[Metric]:
        _raise_problems(_duplicate_problems([metric.name for metric in metrics], loc_suffix=("name",)))
        return metrics

    @field_validator("categories")
    @classmethod
    def _category_tree(cls, categories: list[Category]) -> list[Category]:
        problems = _duplicate_problems([category.name for category in categories], loc_suffix=("name",))
        problems.extend(_category_parent_problems(categories))
        _raise_problems(problems)
        return categories


def _category_parent_problems(categories: Sequence[Category]) -> list[InitErrorDetails]:
    """Every parent must be another category of the list, and following parents must never loop."""
    parent_of = {category.name: category.parent for category in categories}
    problems: list[InitErrorDetails] = []
    for index, category in enumerate(categories):
        parent = category.parent
        if parent is None:
            continue
        error: PydanticCustomError | None = None
        if parent == category.name:
            error = PydanticCustomError("category_cycle", "A category cannot be its own parent")
        elif parent not in parent_of:
            error = PydanticCustomError(
                "unknown_parent",
                "Parent '{parent}' is not one of the categories in this list",
                {"parent": parent},
            )
        else:
            path = [category.name]
            node: str | None = parent
            while node is not None and node in parent_of and node not in path:
                path.append(node)
                node = parent_of[node]
            if node == category.name:
                error = PydanticCustomError(
                    "category_cycle",
                    "Categories form a cycle: {cycle}",
                    {"cycle": " > ".join([*path, category.name])},
                )
        if error is not None:
            problems.append(InitErrorDetails(type=error, loc=(index, "parent"), input=parent))
    return problems


class ReviewReportTemplateForm(ReviewDecisionForm):
    """The PM's review of the report template (gate item: report template approved)."""

    model_config = ConfigDict(title="Review report template")


class SendLaunchNoticeForm(TaskForm):
    """The launch notice e-mailed to the support team."""

    model_config = ConfigDict(title="Send launch notice")

    launch_at: FormDateTime = Field(
        title="Launch date and time",
        description="When the launch goes live, with its time zone (e.g. 2030-06-01T09:00:00+02:00).",
    )
    what_changes: LongText = Field(title="What changes", description="What changes for users.")
    channels: UniqueShortTexts = Field(
        min_length=1, max_length=20, title="Channels", description="Where users meet the change (1-20)."
    )
    known_issues: list[LongText] = Field(
        default_factory=list,
        max_length=50,
        title="Known issues",
        description="Issues known at launch (up to 50).",
    )
    support_contacts: list[Contact] = Field(
        min_length=1,
        max_length=20,
        title="Support contacts",
        description="Who support can reach about the launch (1-20).",
    )
    rollback_plan: LongText = Field(
        title="Rollback plan", description="How the launch is rolled back if needed."
    )


class AcknowledgeLaunchNoticeForm(TaskForm):
    """Support's acknowledgement of the launch notice (gate item: launch notice)."""

    model_config = ConfigDict(title="Acknowledge launch notice")

    staffing_confirmed: Annotated[bool, _must_be_true("confirm staffing before acknowledging")] = Field(
        title="Staffing confirmed",
        description="Support is staffed for the launch.",
        json_schema_extra={"const": True},
    )
    faq_published: Annotated[
        bool, _must_be_true("confirm the FAQ is published to the front line before acknowledging")
    ] = Field(
        title="FAQ published",
        description="The FAQ is published to the front line.",
        json_schema_extra={"const": True},
    )
    open_questions: list[LongText] = Field(
        default_factory=list,
        max_length=50,
        title="Open questions",
        description="Questions support still has (up to 50).",
    )


class GoLiveForm(TaskForm):
    """The go-live step. The engine refuses it while any gate item is open."""

    model_config = ConfigDict(title="Go live")

    confirm: Annotated[bool, _must_be_true("confirm the go-live before submitting")] = Field(
        title="Confirm go-live", description="The launch goes live now.", json_schema_extra={"const": True}
    )
    notes: OptionalLongText = Field(default="", title="Notes", description="Anything worth recording.")


# --------------------------------------------------------------------------------------------------------
# Registry and entry points

TASK_FORMS: Final[Mapping[str, type[TaskForm]]] = MappingProxyType(
    {
        "draft_proposal": DraftProposalForm,
        "review_proposal": ReviewProposalForm,
        "revise_proposal": ReviseProposalForm,
        "open_beta": OpenBetaForm,
        "complete_beta_faq": CompleteBetaFaqForm,
        "draft_report_template": DraftReportTemplateForm,
        "review_report_template": ReviewReportTemplateForm,
        "send_launch_notice": SendLaunchNoticeForm,
        "acknowledge_launch_notice": AcknowledgeLaunchNoticeForm,
        "go_live": GoLiveForm,
    }
)
"""Form model per BPMN user task id."""

_MAX_PROBLEMS_IN_MESSAGE: Final = 5


def form_model_for(task_id: str) -> type[TaskForm]:
    """The form model of a user task; ``KeyError`` for an id that has no form."""
    try:
        return TASK_FORMS[task_id]
    except KeyError:
        known = ", ".join(sorted(TASK_FORMS))
        raise KeyError(f"no form for task id {task_id!r} (known task ids: {known})") from None


def validate_task_data(task_id: str, data: Mapping[str, object]) -> dict[str, object]:
    """Validate a task's submitted data; return it JSON-safe (dates as ISO strings).

    Raises ``KeyError`` for an unknown task id and ``ValidationFailedError`` (one problem per error) for
    data that does not fit the form.
    """
    return _validate(form_model_for(task_id), data, subject=f"task {task_id!r}")


def validate_launch_start(data: Mapping[str, object]) -> dict[str, object]:
    """Validate the data that starts a launch; same contract as :func:`validate_task_data`, except that
    the optional launch settings (`support_distribution`, `due_overrides`) are left out when not given."""
    values = _validate(LaunchStartForm, data, subject="the launch start")
    for name in ("support_distribution", "due_overrides"):
        if isinstance(data, Mapping) and name not in data:
            values.pop(name, None)
    return values


def form_json_schema(task_id: str) -> dict[str, object]:
    """The JSON schema of a task's form (what the UI renders from)."""
    return form_model_for(task_id).model_json_schema()


def _validate(model: type[TaskForm], data: Mapping[str, object], *, subject: str) -> dict[str, object]:
    payload: object = dict(data) if isinstance(data, Mapping) else data
    try:
        form = model.model_validate(payload)
    except ValidationError as exc:
        problems = _problems_of(exc)
        raise ValidationFailedError(_summary(subject, problems), problems) from exc
    dumped: dict[str, Any] = form.model_dump(mode="json")
    return dumped


def _plain_message(error: Any) -> str:
    """Pydantic's wording, made plain where it is technical (list sizes)."""
    ctx = error.get("ctx") or {}
    if error["type"] == "too_short" and "min_length" in ctx:
        return f"Add at least {ctx['min_length']} (there are {ctx.get('actual_length', 'fewer')})"
    if error["type"] == "too_long" and "max_length" in ctx:
        return f"Keep it to at most {ctx['max_length']} (there are {ctx.get('actual_length', 'more')})"
    return str(error["msg"])


def _problems_of(exc: ValidationError) -> list[FieldProblem]:
    return [
        FieldProblem(loc=tuple(error["loc"]), message=_plain_message(error), type=error["type"])
        for error in exc.errors(include_url=False, include_input=False)
    ]


def _summary(subject: str, problems: Sequence[FieldProblem]) -> str:
    shown = [
        f"{'.'.join(str(part) for part in problem.loc) or '(form)'}: {problem.message}"
        for problem in problems[:_MAX_PROBLEMS_IN_MESSAGE]
    ]
    more = len(problems) - len(shown)
    if more > 0:
        shown.append(f"and {more} more")
    count = f"{len(problems)} problem" + ("" if len(problems) == 1 else "s")
    return f"invalid data for {subject} ({count}): " + "; ".join(shown)
