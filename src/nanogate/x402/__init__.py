"""Accountless x402 payments: quotes bound to a request, amounts in each asset's unit."""

from nanogate.x402._amounts import USD, USDC, XNO, Asset
from nanogate.x402._challenge import (
    Offer,
    Quote,
    challenge_body,
    iso_millis,
    requirements,
    usd_text,
)
from nanogate.x402._hash import canonical_body, request_hash
from nanogate.x402._payload import PaymentPayload, PaymentRefused, decode_payment, encode_payment
from nanogate.x402._rails import DEV_PAY_TO, RAILS, Rail
from nanogate.x402._status import (
    FINAL,
    Refusal,
    Status,
    arrived_in_time,
    completion_refusal,
    observed_status,
    retry_after,
)

__all__ = [
    "Asset",
    "DEV_PAY_TO",
    "FINAL",
    "Offer",
    "PaymentPayload",
    "PaymentRefused",
    "Quote",
    "RAILS",
    "Rail",
    "Refusal",
    "Status",
    "USD",
    "USDC",
    "XNO",
    "arrived_in_time",
    "canonical_body",
    "challenge_body",
    "completion_refusal",
    "decode_payment",
    "encode_payment",
    "iso_millis",
    "observed_status",
    "request_hash",
    "requirements",
    "retry_after",
    "usd_text",
]
