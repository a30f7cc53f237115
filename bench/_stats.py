"""Summary statistics over latency samples."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples_ns: Sequence[int]) -> dict[str, float]:
    """p50, p90, p99, mean and max of nanosecond samples, in milliseconds."""
    ms = sorted(s / 1e6 for s in samples_ns)
    if not ms:
        return {"count": 0}
    return {
        "count": len(ms),
        "p50": percentile(ms, 50),
        "p90": percentile(ms, 90),
        "p99": percentile(ms, 99),
        "mean": sum(ms) / len(ms),
        "max": ms[-1],
    }
