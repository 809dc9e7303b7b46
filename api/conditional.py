"""Conditional requests on launches: the `ETag` of a launch is its version; `If-Match` on a write makes it
go through only while the launch is still at that version (412 otherwise), `If-None-Match` on a read
answers 304 when nothing changed. Both headers are optional."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Header, Response

from api.errors import launch_etag

__all__ = ["IfMatchHeader", "IfNoneMatchHeader", "expected_version", "launch_etag", "matches", "tag"]

IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=200,
        description="The launch's ETag as last read: the change is made only if the launch is still at "
        "that version (else 412 with the current ETag). Optional.",
    ),
]
IfNoneMatchHeader = Annotated[
    str | None,
    Header(alias="If-None-Match", max_length=200, description="An ETag: 304 while it is still current."),
]
_TAG = re.compile(r'\s*(?:W/)?"(\d{1,18})"\s*')
NEVER = -1  # a version no launch has: a malformed tag never matches


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match asks for (None: no header, or `*`). Only one entity tag is meaningful for a
    launch; anything unparseable can never match."""
    if if_match is None or if_match.strip() in {"", "*"}:
        return None
    found = _TAG.fullmatch(if_match)
    return int(found.group(1)) if found else NEVER


def matches(if_none_match: str | None, version: int) -> bool:
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(
        (found := _TAG.fullmatch(part)) is not None and int(found.group(1)) == version
        for part in if_none_match.split(",")
    )


def tag(response: Response, version: int) -> None:
    response.headers["ETag"] = launch_etag(version)
