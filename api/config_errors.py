"""Settings problems as an operator needs them: one line per problem, naming the environment variable."""

from __future__ import annotations

import re

from pydantic import BaseModel, ValidationError

from api.audit_settings import AuditSettings
from api.settings import Settings

_MODELS: dict[str, tuple[type[BaseModel], str]] = {
    "Settings": (Settings, "LAUNCHGATE_"),
    "AuditSettings": (AuditSettings, "LAUNCHGATE_AUDIT_"),
}


def settings_problems(exc: ValidationError) -> list[str]:
    """The lines of a ValidationError raised while reading Settings or AuditSettings."""
    model, prefix = _MODELS.get(exc.title, (Settings, "LAUNCHGATE_"))
    return problem_lines(exc, model, prefix)


def problem_lines(exc: ValidationError, model: type[BaseModel], prefix: str) -> list[str]:
    """`LAUNCHGATE_REMINDER_LADDER: ladder step 'x': …` for each problem of `exc` (field names in the
    messages become variable names too, those with an underscore: a plain word stays a word; a value is
    never repeated: it may be a secret)."""
    names = sorted((name for name in model.model_fields if "_" in name), key=len, reverse=True)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b") if names else None

    def variables(text: str) -> str:
        return pattern.sub(lambda m: prefix + m.group(1).upper(), text) if pattern else text

    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        if error["type"] == "default_factory_not_called":
            continue  # a default computed from another setting that is wrong (reported on its own)
        message = variables(str(error["msg"]).removeprefix("Value error, "))
        location = error["loc"]
        if not location:
            lines.append(message)
            continue
        where = prefix + str(location[0]).upper()
        items = [part for part in location[1:] if isinstance(part, int)]
        if items:
            where += f" (item {items[0] + 1})"
        lines.append(f"{where}: {message}")
    return lines
