"""The 402 payment challenge, field for field as NanoGPT documents it.

A :class:`Quote` is a price for one request, offered on one or more rails; its body
carries the legacy OpenAI-style ``error`` (type and code ``insufficient_quota``), the
stable top-level ``payment`` object with one ``accepted`` entry per rail,
``x402Version: 1``, and ``accepts``: the x402 v1 payment requirements of the rails that
settle with the ``exact`` protocol scheme, for lower-level x402 clients.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from nanogate.x402._amounts import Asset

MESSAGE = "Payment required to complete this request."


def iso_millis(moment: datetime) -> str:
    """``2026-06-09T12:00:00.000Z``: UTC, milliseconds, as the seed writes times."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def usd_text(amount: Decimal) -> str:
    """A dollar amount as the seed writes it: a plain decimal string, no exponent."""
    text = f"{amount.normalize():f}"
    return text if text not in ("-0", "") else "0"


@dataclass(frozen=True, slots=True)
class Offer:
    """One way to pay a quote: a rail, its network and asset, and the exact amount."""

    scheme: str
    """The rail's name: ``nano``, ``base-usdc``, ``nano-exact``, ``x402-exact``..."""
    protocol_scheme: str
    """How it settles: the rail's own polling scheme, or ``exact`` (an X-PAYMENT replay)."""
    network: str
    asset: Asset
    amount: int
    """In the asset's smallest unit."""
    pay_to: str
    asset_address: str | None = None
    """The token contract or mint, for token rails."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Rail-specific fields added to the entry as they are (``feePayer``...)."""

    @property
    def polling(self) -> bool:
        """Polling rails are completed through ``statusUrl`` and ``completeUrl``."""
        return self.protocol_scheme not in ("exact", "upto")

    @property
    def v1(self) -> bool:
        """Whether x402 v1 clients can pay it (``exact`` only: ``upto`` is v2's)."""
        return self.protocol_scheme == "exact"


@dataclass(frozen=True, slots=True)
class Quote:
    """A price for one stored request, valid until ``expires_at``."""

    payment_id: str
    request_hash: str
    expires_at: datetime
    amount_usd: Decimal
    status_url: str
    complete_url: str
    resource: str
    """The URL of the endpoint the request was sent to."""
    description: str
    offers: tuple[Offer, ...]


def _accepted(quote: Quote, offer: Offer) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "scheme": offer.scheme,
        "protocolScheme": offer.protocol_scheme,
        "network": offer.network,
        "amount": str(offer.amount),
        "amountFormatted": offer.asset.formatted(offer.amount),
        "amountUsd": usd_text(quote.amount_usd),
        "payTo": offer.pay_to,
    }
    if offer.asset_address is not None:
        entry["asset"] = offer.asset_address
    entry.update(offer.extra)
    entry["paymentId"] = quote.payment_id
    if offer.polling:
        entry["statusUrl"] = quote.status_url
        entry["completeUrl"] = quote.complete_url
    else:
        entry["expiresAt"] = iso_millis(quote.expires_at)
    return entry


def timeout_s(quote: Quote, now: datetime) -> int:
    """``maxTimeoutSeconds`` of a quote's requirements: the time left on it, at least 1."""
    return max(1, int((quote.expires_at - now).total_seconds()))


def requirements(quote: Quote, offer: Offer, now: datetime) -> dict[str, Any]:
    """The x402 v1 ``PaymentRequirements`` of an exact-scheme offer."""
    return {
        "scheme": "exact",
        "network": offer.network,
        "maxAmountRequired": str(offer.amount),
        "resource": quote.resource,
        "description": quote.description,
        "mimeType": "application/json",
        "payTo": offer.pay_to,
        "maxTimeoutSeconds": timeout_s(quote, now),
        "asset": offer.asset_address or offer.asset.symbol,
        "extra": {"paymentId": quote.payment_id, **offer.extra},
    }


def challenge_body(quote: Quote, now: datetime) -> dict[str, Any]:
    """The body of the 402 that offers ``quote``."""
    return {
        "error": {"type": "insufficient_quota", "code": "insufficient_quota", "message": MESSAGE},
        "payment": {
            "version": 1,
            "paymentId": quote.payment_id,
            "requestHash": quote.request_hash,
            "expiresAt": iso_millis(quote.expires_at),
            "amountUsd": usd_text(quote.amount_usd),
            "statusUrl": quote.status_url,
            "completeUrl": quote.complete_url,
            "accepted": [_accepted(quote, offer) for offer in quote.offers],
        },
        "x402Version": 1,
        "accepts": [requirements(quote, o, now) for o in quote.offers if o.v1],
    }
