"""A payment's life, without I/O: the statuses ``GET /api/x402/status/{id}`` reports and
what ``POST /api/x402/complete/{id}`` may do in each.

::

    pending ──(some paid)──▶ underpaid ──(the rest)──▶ paid ──(complete)──▶ processing
       │                        │                        │                    │
       └──────(expires_at)──────┴─▶ expired              │          completed │ failed
                                                         └─ (a paid payment never expires)

A payment is *paid* once the confirmed amount reaches the quote, whenever it arrived;
a payment still short of it at ``expires_at`` is *expired* (what was paid is not
lost: the operator sees it in the payment record). ``processing`` is taken in one
transaction by exactly one complete, so concurrent completes run the request once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

Status = Literal["pending", "underpaid", "paid", "processing", "completed", "failed", "expired"]

FINAL: frozenset[Status] = frozenset({"completed", "failed", "expired"})

POLL_AFTER_S = 2
"""``Retry-After`` of a status answer while the payment is still moving."""


def observed_status(
    stored: Status, received: int, amount: int, now: datetime, expires_at: datetime
) -> Status:
    """The status after observing ``received`` atomic units confirmed towards ``amount``.

    Stored statuses past payment (processing, completed, failed) and expiry are kept;
    otherwise what was received decides, and time ends an unpaid payment."""
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
    if status in ("pending", "underpaid", "processing"):
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
