"""The payment of an exact-rail replay: an x402 v1 ``X-PAYMENT`` or a v2
``PAYMENT-SIGNATURE``.

Either header is base64 (standard or URL-safe, padding optional) of a JSON object. A v1
payload names its scheme and network itself::

    {"x402Version": 1, "scheme": "exact", "network": "base",
     "payload": {"signature": "0x...", "authorization": {...}}}

A v2 payload echoes the requirements it pays (``accepted``, with a CAIP-2 network)::

    {"x402Version": 2, "accepted": {"scheme": "exact", "network": "eip155:8453", ...},
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


class PaymentRefused(ValueError):
    """An X-PAYMENT that cannot be used, with the reason the client is told."""


def decode_header(header: str, name: str = "The header") -> dict[str, Any]:
    """The JSON object an x402 header carries (a payment, ``PAYMENT-REQUIRED``, a
    settlement): base64, standard or URL-safe alphabet, padding optional. Raises
    :class:`PaymentRefused` (a ``ValueError``) naming the header otherwise."""
    text = header.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        data = json.loads(decoded, parse_constant=_no_constant)
        # what cannot be written back as UTF-8 JSON (a lone surrogate) cannot be verified
        json.dumps(data, ensure_ascii=False).encode()
    except (binascii.Error, ValueError, RecursionError):
        raise PaymentRefused(f"{name} is not base64-encoded JSON.") from None
    if not isinstance(data, dict):
        raise PaymentRefused(f"{name} must encode a JSON object.")
    return data


@dataclass(frozen=True, slots=True)
class PaymentPayload:
    """A decoded x402 payment payload."""

    scheme: str
    network: str
    """The network it pays on: a v1 name (``base``), or a CAIP-2 id in version 2."""
    payload: Mapping[str, Any] = field(repr=False)
    """The scheme's proof of payment (a signed authorization, a transaction...)."""
    raw: dict[str, Any] = field(repr=False)
    """The whole decoded object, as a verifier expects it."""
    version: int = 1
    accepted: Mapping[str, Any] | None = field(default=None, repr=False)
    """Version 2: the requirements the payment says it pays."""


HEADERS = {1: "X-PAYMENT", 2: "PAYMENT-SIGNATURE"}
"""The request header that carries each version's payment."""


def decode_payment(header: str, version: int = 1) -> PaymentPayload:
    """The payload of an ``X-PAYMENT`` (``version`` 1) or ``PAYMENT-SIGNATURE`` (2)
    header; raises :class:`PaymentRefused`, also for a payload of the other version."""
    name = HEADERS[version]
    text = header.strip()
    if not text:
        raise PaymentRefused(f"{name} is empty.")
    if len(text) > MAX_HEADER:
        raise PaymentRefused(f"{name} is longer than {MAX_HEADER} characters.")
    data = decode_header(text, name)
    sent = data.get("x402Version")
    if type(sent) is not int or sent != version:
        other = " (an x402 version 2 payment goes in PAYMENT-SIGNATURE)" if sent == 2 else ""
        if version == 2 and sent == 1:
            other = " (an x402 version 1 payment goes in X-PAYMENT)"
        raise PaymentRefused(f"{name} must be an x402 version {version} payment payload{other}.")
    accepted = data.get("accepted") if version == 2 else None
    if version == 2:
        if not isinstance(accepted, dict):
            raise PaymentRefused(f"{name} has no accepted payment requirements.")
        scheme, network = accepted.get("scheme"), accepted.get("network")
    else:
        scheme, network = data.get("scheme"), data.get("network")
    payload = data.get("payload")
    if not isinstance(scheme, str) or not scheme:
        raise PaymentRefused(f"{name} has no scheme.")
    if not isinstance(network, str) or not network:
        raise PaymentRefused(f"{name} has no network.")
    if not isinstance(payload, dict) or not payload:
        raise PaymentRefused(f"{name} has no payload.")
    return PaymentPayload(scheme, network, payload, data, version, accepted)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def encode_payment(data: Mapping[str, Any]) -> str:
    """The header value for a payment payload ``data`` (what a wallet sends): standard
    base64 of its compact JSON, for ``X-PAYMENT`` (x402 v1) or ``PAYMENT-SIGNATURE``
    (v2)."""
    return base64.b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()
