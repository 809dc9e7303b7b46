"""Audit export formats and their offline verification.

CSV cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are prefixed with a
single quote; so is any cell that already starts with a quote, which makes the escape reversible:
`restore` strips exactly one leading quote. JSON lines carry the events exactly as hashed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from engine.audit import HASHED_FIELDS

EXPORT_COLUMNS: tuple[str, ...] = (*HASHED_FIELDS, "hash")
_JSON_COLUMNS = {"before", "after", "detail"}
_INT_COLUMNS = {"sequence", "chain_position"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def neutralise(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def restore(cell: str) -> str:
    return cell[1:] if cell.startswith("'") else cell


def read_csv(text: str) -> Iterator[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        event: dict[str, Any] = {}
        for column in EXPORT_COLUMNS:
            raw = restore(row.get(column) or "")
            if column in _JSON_COLUMNS:
                event[column] = json.loads(raw) if raw else None
            elif column in _INT_COLUMNS:
                event[column] = int(raw)
            else:
                event[column] = raw or None
        if event.get("detail") is None:
            event["detail"] = {}
        yield event


def write_csv(events: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    """The CSV export, row by row (the header first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for event in events:
        writer.writerow([neutralise(cell(event.get(c))) for c in EXPORT_COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def read_jsonl(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.strip():
            yield json.loads(line)
