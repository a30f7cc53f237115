"""Time windows for limits, from one clock reading: the UTC day, the second, the
microsecond."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

_DAYS: dict[int, str] = {}
"""Recent days' names by ordinal: every request asks for its day's."""


def day_of(moment: datetime) -> str:
    """The UTC calendar day of ``moment``, ``YYYY-MM-DD``: the daily limits' window."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    ordinal = moment.toordinal()
    day = _DAYS.get(ordinal)
    if day is None:
        if len(_DAYS) >= 64:
            _DAYS.clear()
        day = _DAYS[ordinal] = moment.date().isoformat()
    return day


def second_of(moment: datetime) -> int:
    """The whole UNIX second of ``moment``: the per-second limit's window."""
    return math.floor(moment.timestamp())


_EPOCH_DAY = datetime(1970, 1, 1, tzinfo=UTC).toordinal()


def micros(moment: datetime) -> int:
    """``moment`` in whole microseconds since the UNIX epoch: the per-second log's time
    (exact, in integers: a float timestamp has too few digits left for microseconds)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    seconds = (moment.toordinal() - _EPOCH_DAY) * 86_400
    seconds += moment.hour * 3_600 + moment.minute * 60 + moment.second
    return seconds * 1_000_000 + moment.microsecond


def seconds_until_midnight(moment: datetime) -> int:
    """Whole seconds until the next 00:00 UTC, at least 1: a daily limit's Retry-After."""
    utc = moment.astimezone(UTC)
    midnight = (utc + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, math.ceil((midnight - utc).total_seconds()))
