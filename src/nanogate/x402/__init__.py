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
from nanogate.x402._payload import (
    PaymentPayload,
    PaymentRefused,
    decode_header,
    decode_payment,
    encode_payment,
)
from nanogate.x402._rails import DEV_PAY_TO, RAILS, Rail
from nanogate.x402._status import (
    FINAL,
    OPEN,
    STATUSES,
    Refusal,
    Status,
    arrived_in_time,
    completion_refusal,
    observed_status,
    retry_after,
    status_of,
)
from nanogate.x402._v2 import (
    CAIP2,
    caip2,
    encode_header,
    payment_required,
    requirements_v2,
    settle_response,
)

__all__ = [
    "Asset",
    "CAIP2",
    "DEV_PAY_TO",
    "FINAL",
    "OPEN",
    "Offer",
    "PaymentPayload",
    "PaymentRefused",
    "Quote",
    "RAILS",
    "Rail",
    "Refusal",
    "STATUSES",
    "Status",
    "USD",
    "USDC",
    "XNO",
    "arrived_in_time",
    "caip2",
    "canonical_body",
    "challenge_body",
    "completion_refusal",
    "decode_header",
    "decode_payment",
    "encode_header",
    "encode_payment",
    "iso_millis",
    "observed_status",
    "payment_required",
    "request_hash",
    "requirements",
    "requirements_v2",
    "retry_after",
    "settle_response",
    "status_of",
    "usd_text",
]
