"""Recent speed per deployment: latency and throughput, for routing by them.

Each worker keeps its own estimates, as it keeps its own circuit breakers: an
exponentially weighted moving average of each deployment's latency (seconds until
its answer, or a stream's first chunk) and of its throughput (output tokens per
second of a whole answer). A failed attempt counts as a slow one that produced
nothing. A deployment nobody has measured yet has no estimate;
:func:`nanogate.routing.plan` tries it before measured ones, so every deployment
gets measured.
"""

from __future__ import annotations

from dataclasses import dataclass

WEIGHT = 0.2
"""How much one new observation moves an estimate (about the last ten count)."""
FAILED_S = 10.0
"""The latency a failed attempt counts as, at least: a deployment that fails fast must
not look fast."""


@dataclass(slots=True)
class Speed:
    """One deployment's estimates; ``None`` until first observed. Only :class:`Speeds`
    changes them, in place (every answered request updates one)."""

    latency_s: float | None = None
    tokens_per_s: float | None = None


_UNMEASURED = Speed()
"""What :meth:`Speeds.get` answers for a deployment never observed (never changed)."""


def _moved(old: float | None, new: float) -> float:
    return new if old is None else old + WEIGHT * (new - old)


class Speeds:
    """Estimates by deployment name."""

    def __init__(self) -> None:
        self._speeds: dict[str, Speed] = {}

    def get(self, name: str) -> Speed:
        return self._speeds.get(name) or _UNMEASURED

    def _of(self, name: str) -> Speed:
        speed = self._speeds.get(name)
        if speed is None:
            speed = self._speeds[name] = Speed()
        return speed

    def answered(self, name: str, seconds: float) -> None:
        """``name`` answered (or began its stream) ``seconds`` after it was asked."""
        if seconds >= 0:
            speed = self._of(name)
            speed.latency_s = _moved(speed.latency_s, seconds)

    def failed(self, name: str, seconds: float) -> None:
        """``name`` failed after ``seconds``: slow, and producing nothing."""
        speed = self._of(name)
        speed.latency_s = _moved(speed.latency_s, max(seconds, FAILED_S))
        speed.tokens_per_s = _moved(speed.tokens_per_s, 0.0)

    def generated(self, name: str, tokens: int, seconds: float) -> None:
        """``name`` produced ``tokens`` output tokens in a whole answer of ``seconds``."""
        if tokens > 0 and seconds > 0:
            speed = self._of(name)
            speed.tokens_per_s = _moved(speed.tokens_per_s, tokens / seconds)


__all__ = ["Speed", "Speeds"]
