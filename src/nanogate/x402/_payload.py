"""The ``X-PAYMENT`` header of an exact-rail replay: an x402 v1 payment payload.

The header is base64 (standard or URL-safe, padding optional) of a JSON object::

    {"x402Version": 1, "scheme": "exact", "network": "base",
     "payload": {"signature": "0x...", "authorization": {...}}}

:func:`decode_payment` checks only the envelope; what the ``payload`` proves is for the
rail's verifier (an x402 facilitator) to say. Nothing here logs the header.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_HEADER = 16 * 1024
"""An X-PAYMENT larger than this is refused before it is decoded."""


class PaymentRefused(Exception):
    """An X-PAYMENT that cannot be used, with the reason the client is told."""


@dataclass(frozen=True, slots=True)
class PaymentPayload:
    """A decoded x402 v1 payment payload."""

    scheme: str
    network: str
    payload: Mapping[str, Any] = field(repr=False)
    """The scheme's proof of payment (a signed authorization, a transaction...)."""
    raw: dict[str, Any] = field(repr=False)
    """The whole decoded object, as a verifier expects it."""


def decode_payment(header: str) -> PaymentPayload:
    """The payload of an ``X-PAYMENT`` header; raises :class:`PaymentRefused`."""
    text = header.strip()
    if not text:
        raise PaymentRefused("X-PAYMENT is empty.")
    if len(text) > MAX_HEADER:
        raise PaymentRefused(f"X-PAYMENT is longer than {MAX_HEADER} characters.")
    padded = text + "=" * (-len(text) % 4)
    try:
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        data = json.loads(decoded, parse_constant=_no_constant)
        # what cannot be written back as UTF-8 JSON (a lone surrogate) cannot be verified
        json.dumps(data, ensure_ascii=False).encode()
    except (binascii.Error, ValueError, RecursionError):
        raise PaymentRefused("X-PAYMENT is not base64-encoded JSON.") from None
    if not isinstance(data, dict):
        raise PaymentRefused("X-PAYMENT must encode a JSON object.")
    version = data.get("x402Version")
    if type(version) is not int or version != 1:
        raise PaymentRefused("X-PAYMENT must be an x402 version 1 payment payload.")
    scheme, network, payload = data.get("scheme"), data.get("network"), data.get("payload")
    if not isinstance(scheme, str) or not scheme:
        raise PaymentRefused("X-PAYMENT has no scheme.")
    if not isinstance(network, str) or not network:
        raise PaymentRefused("X-PAYMENT has no network.")
    if not isinstance(payload, dict) or not payload:
        raise PaymentRefused("X-PAYMENT has no payload.")
    return PaymentPayload(scheme, network, payload, data)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def encode_payment(data: Mapping[str, Any]) -> str:
    """The ``X-PAYMENT`` header value for ``data`` (what a wallet sends)."""
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
