"""Time windows for limits, from one clock reading: the UTC day, the second, the
microsecond."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


def day_of(moment: datetime) -> str:
    """The UTC calendar day of ``moment``, ``YYYY-MM-DD``: the daily limits' window."""
    return moment.astimezone(UTC).date().isoformat()


def second_of(moment: datetime) -> int:
    """The whole UNIX second of ``moment``: the per-second limit's window."""
    return math.floor(moment.timestamp())


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """``moment`` in whole microseconds since the UNIX epoch: the per-second log's time."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def seconds_until_midnight(moment: datetime) -> int:
    """Whole seconds until the next 00:00 UTC, at least 1: a daily limit's Retry-After."""
    utc = moment.astimezone(UTC)
    midnight = (utc + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - utc).total_seconds()))
