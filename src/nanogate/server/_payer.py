"""Who pays for a request: an account, through the request's API key, or an x402
payment. Authentication hands out one of these values; charging asks it to pay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nanogate.storage import APIKey

if TYPE_CHECKING:
    from nanogate.server.x402 import PaidRun


@dataclass(frozen=True, slots=True)
class AccountPayer:
    """A request with a valid API key: the key's account pays, within the key's limits."""

    key: APIKey


@dataclass(frozen=True, slots=True)
class X402Payer:
    """An accountless request that an x402 payment pays for: ``run`` is the payment's
    permission to run the request once, ``None`` until the request redeems its
    ``X-PAYMENT`` (without one, it is quoted: the 402)."""

    run: PaidRun | None = None


Payer = AccountPayer | X402Payer
