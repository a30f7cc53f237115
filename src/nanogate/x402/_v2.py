"""x402 version 2 beside version 1: the ``PAYMENT-REQUIRED`` header and its requirements.

A v2 402 carries a base64 ``PaymentRequired`` in the ``PAYMENT-REQUIRED`` header; the
body stays the seed's. Networks are named by CAIP-2 (``eip155:8453``); an exact offer on
a network without a CAIP-2 id (Nano) is offered to v1 clients only. A v2 client pays
in ``PAYMENT-SIGNATURE`` with a payload that echoes the requirements it chose
(``accepted``), and is answered with ``PAYMENT-RESPONSE``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nanogate.x402._challenge import MESSAGE, Offer, Quote, requirements, timeout_s

CAIP2: Mapping[str, str] = {
    "base": "eip155:8453",
    "base-sepolia": "eip155:84532",
    "solana": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
    "solana-devnet": "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
}
"""The CAIP-2 id of each v1 network name the rails use."""

V2_HEADERS = ("payment-required", "payment-signature", "payment-response")


def caip2(network: str) -> str | None:
    """``network``'s CAIP-2 id (a network configured as one already is), or ``None``."""
    if ":" in network:
        return network
    return CAIP2.get(network)


def requirements_v2(quote: Quote, offer: Offer, now: datetime) -> dict[str, Any] | None:
    """The x402 v2 ``PaymentRequirements`` of an exact offer, or ``None`` when its
    network has no CAIP-2 id."""
    network = caip2(offer.network)
    if network is None or offer.polling:
        return None
    return {
        "scheme": offer.protocol_scheme,
        "network": network,
        "amount": str(offer.amount),
        "asset": offer.asset_address or offer.asset.symbol,
        "payTo": offer.pay_to,
        "maxTimeoutSeconds": timeout_s(quote, now),
        "extra": {"paymentId": quote.payment_id, **offer.extra},
    }


def payment_required(quote: Quote, now: datetime) -> dict[str, Any] | None:
    """What the ``PAYMENT-REQUIRED`` header carries: the v2 ``PaymentRequired`` of
    ``quote``'s exact offers on CAIP-2 networks; without any, a v1 ``PaymentRequired``
    of its exact offers (the body's own, with ``error`` a string, which x402 clients
    that read the header first can parse); ``None`` without exact offers."""
    accepts = [r for o in quote.offers if (r := requirements_v2(quote, o, now)) is not None]
    if not accepts:
        v1 = [requirements(quote, o, now) for o in quote.offers if o.v1]
        return {"x402Version": 1, "error": MESSAGE, "accepts": v1} if v1 else None
    return {
        "x402Version": 2,
        "error": MESSAGE,
        "resource": {
            "url": quote.resource,
            "description": quote.description,
            "mimeType": "application/json",
        },
        "accepts": accepts,
    }


def encode_header(data: Mapping[str, Any]) -> str:
    """A v2 header's value: standard base64 of compact JSON."""
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def settle_response(settlement: Mapping[str, Any]) -> dict[str, Any]:
    """The v2 ``SettleResponse`` of a stored settlement: its network by CAIP-2."""
    network = str(settlement.get("network") or "")
    answer = {
        "success": bool(settlement.get("success", True)),
        "transaction": str(settlement.get("transaction") or ""),
        "network": caip2(network) or network,
    }
    if settlement.get("payer"):
        answer["payer"] = str(settlement["payer"])
    if settlement.get("amount") is not None:
        answer["amount"] = str(settlement["amount"])
    return answer
