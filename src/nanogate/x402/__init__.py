"""Accountless x402 payments: quotes bound to a request, amounts in each asset's unit."""

from nanogate.x402._amounts import USDC, XNO, Asset
from nanogate.x402._challenge import Offer, Quote, challenge_body
from nanogate.x402._hash import canonical_body, request_hash
from nanogate.x402._payload import PaymentPayload, PaymentRefused, decode_payment, encode_payment

__all__ = [
    "Asset",
    "Offer",
    "PaymentPayload",
    "PaymentRefused",
    "Quote",
    "USDC",
    "XNO",
    "canonical_body",
    "challenge_body",
    "decode_payment",
    "encode_payment",
    "request_hash",
]
