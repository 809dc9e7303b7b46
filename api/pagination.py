"""One pagination style for every JSON list under /api/v1: `offset` and `limit` query parameters and the
`PageRead` envelope (`items`, `total`, `offset`, `limit`, `next_offset`).

    def list_users(caller: AdminDep, accounts: AccountsDep, paging: PagingDep) -> UserPageRead:
        return UserPageRead.model_validate(page_of(accounts.list_users(actor=caller.actor), paging))

Every list has a stable order (by id, sequence or creation time, ties broken by id), so walking the pages
with `offset=next_offset` returns each item exactly once. The big lists (launches, tasks, audit events) are
paged in SQL by the engine; the small ones (users, processes, comments, history, tokens, incidents,
blockers) are bounded by what one launch or one installation holds and are sliced here.

As with the filters (api.filters), an empty `offset=` or `limit=` means the default, not a 422. The audit
list declares the same two fields in its query model (`PagingFields`), because that model takes the whole
query string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from api.filters import Filter

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000

OFFSET_HELP = "How many items to skip (default 0; the previous page's `next_offset`)."
LIMIT_HELP = f"Items per page (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})."

OffsetValue = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
LimitValue = Annotated[int, Field(ge=1, le=MAX_LIMIT)]


@dataclass(frozen=True)
class Paging:
    offset: int = 0
    limit: int = DEFAULT_LIMIT


def paging(
    offset: Annotated[Filter[OffsetValue], Query(description=OFFSET_HELP)] = None,
    limit: Annotated[Filter[LimitValue], Query(description=LIMIT_HELP)] = None,
) -> Paging:
    return Paging(offset=offset or 0, limit=limit or DEFAULT_LIMIT)


PagingDep = Annotated[Paging, Depends(paging)]


class PagingFields(BaseModel):
    """The same two parameters as fields of a query model (a model that forbids extra inputs)."""

    offset: Filter[OffsetValue] = Field(default=None, description=OFFSET_HELP)
    limit: Filter[LimitValue] = Field(default=None, description=LIMIT_HELP)

    def paging(self) -> Paging:
        return Paging(offset=self.offset or 0, limit=self.limit or DEFAULT_LIMIT)


def page_of(items: Sequence[T], paging: Paging) -> dict[str, Any]:
    """A page of a small list already in memory, in the list's own (stable) order."""
    end = paging.offset + paging.limit
    return {
        "items": list(items[paging.offset : end]),
        "total": len(items),
        "offset": paging.offset,
        "limit": paging.limit,
    }
