"""Deployment health: a circuit breaker per deployment, and sticky routes.

Both are in-process state of one worker, driven by a monotonic clock passed in,
so they are tested without waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

Pass = Literal["closed", "trial"]
"""How a request was let through to a deployment."""

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(slots=True)
class _Circuit:
    failures: int = 0
    open_until: float = 0.0
    trial: bool = False
    """A half-open circuit let one request through and awaits its outcome."""


class Breakers:
    """A circuit per deployment name.

    ``failures`` consecutive failures open a circuit for ``cooldown_s``; then one trial
    request is let through (half-open): its success closes the circuit, its failure
    opens it again for another cooldown.
    """

    def __init__(
        self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._threshold = failures
        self._cooldown = cooldown_s
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def enter(self, name: str) -> Pass | None:
        """Whether a request may go to ``name`` now: ``"closed"``, ``"trial"`` when it
        takes a half-open circuit's one trial slot, or ``None`` when it may not."""
        circuit = self._circuits.get(name)
        if circuit is None or circuit.failures < self._threshold:
            return "closed"
        if circuit.trial or self._clock() < circuit.open_until:
            return None
        circuit.trial = True
        return "trial"

    def succeeded(self, name: str) -> None:
        """``name`` answered (even with an error that is the request's own fault)."""
        self._circuits.pop(name, None)

    def failed(self, name: str) -> None:
        """``name`` failed in a way that says it is unhealthy."""
        circuit = self._circuits.setdefault(name, _Circuit())
        circuit.failures += 1
        if circuit.trial or circuit.failures >= self._threshold:
            circuit.failures = max(circuit.failures, self._threshold)
            circuit.open_until = self._clock() + self._cooldown
            circuit.trial = False

    def abandoned(self, name: str, passed: Pass) -> None:
        """The request sent to ``name`` ended without an outcome (it was cancelled); if it
        held the trial slot, the next request may try."""
        circuit = self._circuits.get(name)
        if circuit is not None and passed == "trial":
            circuit.trial = False

    def is_open(self, name: str) -> bool:
        circuit = self._circuits.get(name)
        return circuit is not None and circuit.failures >= self._threshold

    def state(self, name: str) -> tuple[BreakerState, int, float]:
        """``name``'s circuit: ``closed``, ``open`` (resting) or ``half_open`` (its next
        request is a trial, or one is under way), its consecutive failures, and seconds
        until it lets a trial through (0 unless open)."""
        circuit = self._circuits.get(name)
        if circuit is None:
            return "closed", 0, 0.0
        if circuit.failures < self._threshold:
            return "closed", circuit.failures, 0.0
        wait = circuit.open_until - self._clock()
        if circuit.trial or wait <= 0:
            return "half_open", circuit.failures, 0.0
        return "open", circuit.failures, wait

    def retry_after(self, names: Iterable[str]) -> int:
        """Whole seconds until the first of ``names`` lets a trial through, at least 1."""
        now = self._clock()
        waits = [
            c.open_until - now
            for c in (self._circuits.get(n) for n in names)
            if c is not None and c.failures >= self._threshold
        ]
        return max(1, math.ceil(min(waits))) if waits else 1


class StickyRoutes:
    """The deployment that last answered each (key, model), for ``stickyProvider``."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_s
        self._clock = clock
        self._routes: dict[tuple[str, str], tuple[str, float]] = {}

    def get(self, key_id: str, model_id: str) -> str | None:
        found = self._routes.get((key_id, model_id))
        if found is None:
            return None
        name, expires = found
        if self._clock() >= expires:
            del self._routes[(key_id, model_id)]
            return None
        return name

    def remember(self, key_id: str, model_id: str, name: str) -> None:
        if len(self._routes) > 100_000:
            self._sweep()
        self._routes[(key_id, model_id)] = (name, self._clock() + self._ttl)

    def _sweep(self) -> None:
        now = self._clock()
        for route, (_, expires) in list(self._routes.items()):
            if expires <= now:
                del self._routes[route]
