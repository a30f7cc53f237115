"""Value objects of the money path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Limits:
    """A subject's limits; ``None`` means unlimited."""

    rps: int | None = None
    daily_requests: int | None = None
    daily_usd_nusd: int | None = None

    @property
    def daily(self) -> bool:
        return self.daily_requests is not None or self.daily_usd_nusd is not None

    @property
    def any(self) -> bool:
        return self.rps is not None or self.daily


@dataclass(frozen=True, slots=True)
class Admission:
    """A request asking to run: who it counts against, and what it may cost at most."""

    request_id: str
    subject: str
    """What the limits count: ``key:<key id>``, or ``ip:<address>`` for accountless callers."""
    now: datetime
    limits: Limits
    account_id: str | None = None
    key_id: str | None = None
    reserve_nusd: int = 0
    """The most the request may cost; held on the account until it settles."""
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """What an admitted request holds until it settles or is released."""

    request_id: str
    subject: str
    day: str
    account_id: str | None
    key_id: str | None
    amount_nusd: int
    model: str | None
    counted: bool = False
    """A per-request hold of a database written before leases: whether its daily
    counters include this request (corrected when the hold is released)."""
    counts_requests: bool = False
    """Whether the request was taken from a lease of its key's daily request allowance."""
    counts_usd: bool = False
    """Whether its hold was taken from a lease of its key's daily spending allowance."""

    @property
    def holds_money(self) -> bool:
        return self.account_id is not None and self.amount_nusd > 0


@dataclass(frozen=True, slots=True)
class Replay:
    """A stored answer to an idempotent request, to send again as it was."""

    request_id: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True, slots=True)
class Spent:
    """A settled request: what it held, what it is charged (at most the hold)."""

    hold: Hold
    charge: int
    note: str | None = None
