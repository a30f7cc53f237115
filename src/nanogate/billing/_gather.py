"""When a batch of settlements should wait for more to join it.

Each batch is one transaction, and its cost is mostly fixed (a begin, a commit, one
update per lease and per account), so ten settlements in one batch cost little more
than one. Under concurrent load, settlements arrive a fraction of a millisecond
apart; a batch that waits :data:`GATHER_S` for the ones about to arrive is written
once for all of them. A settlement with no other request in flight, or arriving at a
low rate, is written at once: waiting would only delay its answer.
"""

from __future__ import annotations

import math

GATHER_S = 0.001
"""The longest a settlement batch waits for more settlements to join it."""
MAX_GATHERED = 64
"""A batch this large is written without waiting for more."""
_SMOOTHING = 1 / 8
"""Weight of the newest gap in the average gap between settlements."""
_LONGEST_GAP = 10
"""Gaps are counted as at most this many windows, so that after a quiet spell a burst
is recognised within a score of settlements."""


class Gathering:
    """The settlements' arrival rate, and whether a batch waits for more (sans-IO:
    the caller passes the time, any monotonic clock in seconds)."""

    def __init__(self, window_s: float = GATHER_S) -> None:
        self.window_s = window_s
        self._last = -math.inf
        self.gap_s = math.inf
        """The average gap between settlements, recent ones weighted most."""

    def arrived(self, now: float) -> None:
        """A settlement was queued at ``now``."""
        last, self._last = self._last, now
        if math.isinf(last):
            return  # the first: no gap yet
        gap = min(now - last, _LONGEST_GAP * self.window_s)
        self.gap_s = gap if math.isinf(self.gap_s) else self.gap_s + (gap - self.gap_s) * _SMOOTHING

    def wait_s(self, queued: int, in_flight: int) -> float:
        """How long a batch of ``queued`` settlements waits for more, with ``in_flight``
        admitted requests not yet settled: 0 when none is in flight, when the batch is
        full, or when fewer than one more settlement is expected within the window."""
        if self.full(queued, in_flight) or self.gap_s >= self.window_s:
            return 0.0
        return self.window_s

    def full(self, queued: int, in_flight: int) -> bool:
        """Whether a waiting batch can be written now: nothing else is in flight to
        join it, or it is as large as a batch gets."""
        return in_flight == 0 or queued >= MAX_GATHERED
