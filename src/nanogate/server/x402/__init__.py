"""Accountless x402 on the server: the cashier that quotes, redeems and settles payments,
the run a paid request gets, and how the cashier is built from the settings."""

from nanogate.server.x402._build import build_cashier
from nanogate.server.x402._cashier import (
    STORED_HEADERS,
    Cashier,
    Metered,
    PaidRun,
    Verifier,
    Watcher,
    refuse,
)

__all__ = [
    "STORED_HEADERS",
    "Cashier",
    "Metered",
    "PaidRun",
    "Verifier",
    "Watcher",
    "build_cashier",
    "refuse",
]
