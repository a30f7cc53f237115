"""Keyset pagination: listings newest first, continued by an opaque cursor.

A cursor names the last row a page showed, by its creation time and id; the next page
is what comes after it in the same order (``created_at`` then id, both descending), so
rows written meanwhile never shift a page, and every page is one indexed range read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_LIMIT = 1000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
    """Where the next page starts; ``None`` on the last page."""


def encode_cursor(created_at: datetime, row_id: str) -> str:
    raw = json.dumps([created_at.isoformat(), row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor names; ``ValueError`` for one this did not make."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        at, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(at)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a cursor of this listing: {cursor!r}") from exc
    if not isinstance(row_id, str) or moment.tzinfo is None:
        raise ValueError(f"not a cursor of this listing: {cursor!r}")
    return moment, row_id


def checked_cursor(cursor: str | None) -> str | None:
    """``cursor`` if a listing made it (``None`` for none); ``ValueError`` otherwise."""
    if cursor:
        decode_cursor(cursor)
    return cursor or None


def after_clause(created: str, row_id: str) -> str:
    """The SQL condition for the rows after a cursor's position (``:at``, ``:after``)."""
    return f"({created} < :at OR ({created} = :at AND {row_id} < :after))"


def like_pattern(text: str) -> str:
    """``%text%`` for ``LIKE ... ESCAPE '\\'``, with the wildcards in ``text`` escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def page_of(rows: list[T], limit: int, position: Callable[[T], tuple[datetime, str]]) -> Page[T]:
    """The first ``limit`` of ``rows`` (fetched one more than that), and the cursor
    after the last one when there were more."""
    if len(rows) <= limit:
        return Page(rows, None)
    kept = rows[:limit]
    return Page(kept, encode_cursor(*position(kept[-1])))
