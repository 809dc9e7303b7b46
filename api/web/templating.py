"""The one Jinja2 Environment: autoescape on for every template, StrictUndefined, templates from forms/."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateNotFound, select_autoescape
from starlette.responses import HTMLResponse

from api.resources import FORMS_DIR

# The zone pages show times in (LAUNCHGATE_TIMEZONE): set per request by the pages' context.
DISPLAY_ZONE: ContextVar[tzinfo] = ContextVar("display_zone", default=UTC)
# The root path a proxy serves the pages under (api.paths), set per request with the zone: `url("/inbox")`
# in a template is the URL a browser follows.
ROOT_PATH: ContextVar[str] = ContextVar("root_path", default="")


def _url(path: str) -> str:
    """The URL of `path` (inside the application) for a browser: the root path in front."""
    return ROOT_PATH.get() + path


def _when(value: datetime | date | str | None) -> str:
    """A moment in the team's zone, to the minute. Accepts the audit trail's ISO text too."""
    if value is None:
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(DISPLAY_ZONE.get())
        return local.strftime("%Y-%m-%d %H:%M %Z")
    return value.isoformat()


def _day(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime) and value.tzinfo:
        value = value.astimezone(DISPLAY_ZONE.get())
    return value.strftime("%Y-%m-%d")


def _build() -> Environment:
    env = Environment(
        loader=FileSystemLoader(FORMS_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["day"] = _day
    env.globals["url"] = _url
    return env


ENV = _build()


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(name).render(**context), status_code=status_code)


def template_exists(name: str) -> bool:
    try:
        ENV.get_template(name)
    except TemplateNotFound:
        return False
    return True


def ui_text(ui_schema: Mapping[str, Any], default: str) -> str:
    """The submit button's text a UI schema asks for (`ui:submitButtonOptions` {"submitText": ...})."""
    options = ui_schema.get("ui:submitButtonOptions")
    text = options.get("submitText") if isinstance(options, Mapping) else None
    return text.strip() if isinstance(text, str) and text.strip() else default
