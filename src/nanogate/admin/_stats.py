"""The overview's figures: requests, errors by code, spend and latency per time bucket.

Sans-IO: :func:`bucketize` turns the request log's rows of a window into buckets; the
caller reads the rows (an indexed range of ``created_at``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nanogate.admin._views import iso
from nanogate.core import format_usd


@dataclass(frozen=True, slots=True)
class Window:
    length: timedelta
    bucket: timedelta

    @property
    def buckets(self) -> int:
        return int(self.length / self.bucket)


WINDOWS = {
    "1h": Window(timedelta(hours=1), timedelta(minutes=1)),
    "24h": Window(timedelta(hours=24), timedelta(minutes=15)),
    "7d": Window(timedelta(days=7), timedelta(hours=1)),
}
"""The windows the overview shows, each cut into buckets of a fixed width."""


@dataclass(slots=True)
class _Bucket:
    start: datetime
    requests: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    spend_nusd: int = 0
    durations: list[float] = field(default_factory=list)


def first_bucket(now: datetime, window: Window) -> datetime:
    """Where the window's first bucket starts: buckets are aligned to their width (in
    UTC), and the last one holds ``now``."""
    epoch = datetime(1970, 1, 1, tzinfo=now.tzinfo)
    width = window.bucket
    last = epoch + ((now - epoch) // width) * width
    return last - width * (window.buckets - 1)


def percentile(ordered: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile of sorted values (``None`` for none)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


Row = tuple[datetime, int, str | None, int, float | None]
"""A request's time, status, error code, cost (nano-dollars) and duration (ms)."""


def bucketize(rows: Iterable[Row], start: datetime, window: Window) -> list[dict[str, Any]]:
    """The window's buckets from ``start``, oldest first, each with its request count,
    errors by code (status 400 and above; the status itself when there is no code),
    spend and duration percentiles. Empty buckets are kept, so a chart's axis is even."""
    width = window.bucket
    buckets = [_Bucket(start + width * i) for i in range(window.buckets)]
    for created, status, code, cost, duration in rows:
        index = int((created - start) // width)
        if not 0 <= index < len(buckets):
            continue
        bucket = buckets[index]
        bucket.requests += 1
        bucket.spend_nusd += cost
        if status >= 400:
            name = code or str(status)
            bucket.errors[name] = bucket.errors.get(name, 0) + 1
        if duration is not None:
            bucket.durations.append(duration)
    shown = []
    for bucket in buckets:
        ordered = sorted(bucket.durations)
        p50, p99 = percentile(ordered, 0.5), percentile(ordered, 0.99)
        shown.append(
            {
                "start": iso(bucket.start),
                "requests": bucket.requests,
                "errors": bucket.errors,
                "spend_usd": format_usd(bucket.spend_nusd),
                "p50_ms": round(p50, 3) if p50 is not None else None,
                "p99_ms": round(p99, 3) if p99 is not None else None,
            }
        )
    return shown
