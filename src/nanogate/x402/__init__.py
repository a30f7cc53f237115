"""Accountless x402 payments: quotes bound to a request, amounts in each asset's unit."""

from nanogate.x402._amounts import USDC, XNO, Asset
from nanogate.x402._challenge import Offer, Quote, challenge_body
from nanogate.x402._hash import canonical_body, request_hash
from nanogate.x402._payload import PaymentPayload, PaymentRefused, decode_payment, encode_payment
from nanogate.x402._status import (
    FINAL,
    Refusal,
    Status,
    completion_refusal,
    observed_status,
    retry_after,
)

__all__ = [
    "Asset",
    "FINAL",
    "Offer",
    "PaymentPayload",
    "PaymentRefused",
    "Quote",
    "Refusal",
    "Status",
    "USDC",
    "XNO",
    "canonical_body",
    "challenge_body",
    "completion_refusal",
    "decode_payment",
    "encode_payment",
    "observed_status",
    "request_hash",
    "retry_after",
]
