"""The formats a form may declare: date, date-time, email and uri (http/https only).

Each check is strict and explains nothing itself (messages are engine.forms.messages' job); `normalized`
gives the stored form of a valid value (e-mail domains lower-cased, date-times in one spelling), and
`comparable` the Python value rules compare (dates and aware datetimes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Final
from urllib.parse import urlsplit

FORMATS: Final = ("date", "date-time", "email", "uri")

EMAIL_MAX: Final = 254
EMAIL_LOCAL_MAX: Final = 64
_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME: Final = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(?P<zone>[Zz]|[+-]\d{2}:\d{2})"
)
_EMAIL: Final = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)
_CONTROL_OR_SPACE: Final = re.compile(r"[\x00-\x20\x7f]")


def parse_date(value: str) -> date | None:
    """A calendar date written YYYY-MM-DD, or None."""
    if not _DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_date_time(value: str) -> datetime | None:
    """An RFC 3339 date and time with its offset (seconds optional), or None. No offset: None."""
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return None
    zone = match["zone"].upper()
    text = f"{match['date']}T{match['time']}{'+00:00' if zone == 'Z' else zone}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def is_email(value: str) -> bool:
    """A deliberately simple, strict check: ``local@domain.tld``, ASCII only."""
    match = _EMAIL.fullmatch(value)
    return match is not None and len(value) <= EMAIL_MAX and len(match["local"]) <= EMAIL_LOCAL_MAX


def is_http_uri(value: str) -> bool:
    """An absolute http:// or https:// URL with a host name and no spaces or control characters."""
    if _CONTROL_OR_SPACE.search(value):
        return False
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


CHECKS: Final[dict[str, Callable[[str], bool]]] = {
    "date": lambda value: parse_date(value) is not None,
    "date-time": lambda value: parse_date_time(value) is not None,
    "email": is_email,
    "uri": is_http_uri,
}


def normalized(fmt: str, value: str) -> str:
    """The stored spelling of a valid value: e-mail domains lower-cased; a date-time with seconds and
    ``Z`` for UTC (as the previous release stored them). Other formats are kept as given."""
    if fmt == "email":
        local, _, domain = value.rpartition("@")
        return f"{local}@{domain.lower()}"
    if fmt == "date-time":
        moment = parse_date_time(value)
        if moment is not None:
            text = moment.isoformat()
            return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
    return value


def comparable(fmt: str | None, value: object) -> object:
    """What rules compare: a date for format date, an aware datetime for date-time, else the value."""
    if isinstance(value, str):
        if fmt == "date":
            return parse_date(value) or value
        if fmt == "date-time":
            return parse_date_time(value) or value
    return value


def normalize_email(value: str) -> str:
    """An e-mail address as forms store it (stripped, domain lower-cased); ValueError when it is none."""
    text = value.strip()
    if not is_email(text):
        raise ValueError(f"{text!r} is not an e-mail address, like name@example.com")
    return normalized("email", text)
