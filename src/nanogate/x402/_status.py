"""A payment's life, without I/O: the statuses ``GET /api/x402/status/{id}`` reports and
what ``POST /api/x402/complete/{id}`` may do in each.

::

    pending ──(some paid)──▶ underpaid ──(the rest)──▶ paid ──(complete)──▶ processing
       │                        │                        │                    │
       └──────(expires_at)──────┴─▶ expired              │          completed │ failed
                                                         └─ (a paid payment never expires)

A payment is judged by when its funds arrived (a Nano block's arrival at the node, the
time of the EVM block holding a transfer), never by when the gateway saw them or who
asked first. It is *paid* once the confirmed funds that arrived before ``expires_at``
reach the quote, even if they are first seen after it; a payment short of that is
*expired* once ``expires_at`` is past, and funds that arrived later never pay it (they
are recorded on it as late, for the operator to refund). So every order of paying,
polling and completing gives one status: the only move out of ``expired`` is to
``paid``, when funds that arrived in time are confirmed or seen after the expiry.
``processing`` is taken in one transaction by exactly one complete, so concurrent
completes run the request once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

Status = Literal["pending", "underpaid", "paid", "processing", "completed", "failed", "expired"]

STATUSES: frozenset[Status] = frozenset(get_args(Status))
OPEN: tuple[Status, ...] = ("pending", "underpaid")
"""A quote still to pay: nothing, or not enough, has arrived yet."""


def status_of(text: str) -> Status:
    """``text`` as a :data:`Status`; ``ValueError`` for any other (a corrupt row)."""
    for status in STATUSES:
        if status == text:
            return status
    raise ValueError(f"unknown x402 payment status {text!r}")


FINAL: frozenset[Status] = frozenset({"completed", "failed", "expired"})

POLL_AFTER_S = 2
"""``Retry-After`` of a status answer while the payment is still moving."""


def arrived_in_time(arrived_at: datetime, expires_at: datetime) -> bool:
    """Whether funds that arrived at ``arrived_at`` (by the chain's clock) count towards a
    quote expiring at ``expires_at``, whenever they are seen: only those before it do."""
    return arrived_at < expires_at


def observed_status(
    stored: Status, received: int, amount: int, now: datetime, expires_at: datetime
) -> Status:
    """The status after observing ``received`` atomic units confirmed towards ``amount``
    that arrived before ``expires_at`` (late funds are not part of ``received``).

    Stored statuses past payment (paid, processing, completed, failed) are kept;
    otherwise what arrived in time decides, whenever it is seen, and time ends an unpaid
    payment."""
    if stored in ("paid", "processing", "completed", "failed"):
        return stored
    if received >= amount:
        return "paid"
    if now >= expires_at or stored == "expired":
        return "expired"
    return "underpaid" if received > 0 else "pending"


def retry_after(status: Status) -> int | None:
    """Seconds a client should wait before polling again, or ``None`` when the status
    will not change by waiting (paid, or final)."""
    if status in (*OPEN, "processing"):
        return POLL_AFTER_S
    return None


Refusal = Literal["already_completed", "expired", "unpaid", "failed", "in_progress"]


def completion_refusal(status: Status) -> Refusal | None:
    """Why a complete cannot run the request now, or ``None`` when it can (``paid``).

    ``already_completed`` is 409 ``payment_already_completed``, ``expired`` 410
    ``payment_expired``, ``unpaid`` (pending or underpaid) 402; a complete arriving while
    another is processing is ``in_progress`` (409 too), and a failed run is ``failed``."""
    refusals: dict[Status, Refusal] = {
        "completed": "already_completed",
        "processing": "in_progress",
        "expired": "expired",
        "pending": "unpaid",
        "underpaid": "unpaid",
        "failed": "failed",
    }
    return refusals.get(status)
