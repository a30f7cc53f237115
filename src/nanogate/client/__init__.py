"""The NanoGPT API client: ``pip install nanogate`` (httpx only).

``Client`` and ``AsyncClient`` speak every surface (chat completions, responses,
messages, embeddings, models, moderations, balance, request billing); failures raise
one typed error tree parsed from every envelope (:func:`parse_error`), retried per
the seed's :class:`RetryPolicy`. ``client.x402`` quotes and pays accountless requests
with a pluggable :class:`Wallet`. See ``docs/client.md``.
"""

from nanogate.client._async_client import AsyncClient
from nanogate.client._call import Response
from nanogate.client._client import Client
from nanogate.client._codes import FAMILIES
from nanogate.client._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DailyLimitError,
    GatewayTimeoutError,
    GoneError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ServiceUnavailableError,
    StreamError,
    UnsupportedMediaTypeError,
)
from nanogate.client._parse import parse_error
from nanogate.client._retry import RetryPolicy
from nanogate.client._sdk import classify_sdk_error
from nanogate.client._stream import AsyncStream, Stream
from nanogate.client._wallet import AsyncWallet, Wallet
from nanogate.client._x402 import (
    PaidResponse,
    PaymentOffer,
    PaymentQuote,
    PaymentStatus,
    decode_payment_response,
    parse_quote,
    quote_from_error,
    requirements_for,
    requirements_v2_for,
)
from nanogate.x402 import encode_payment

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncStream",
    "AsyncWallet",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "DailyLimitError",
    "FAMILIES",
    "GatewayTimeoutError",
    "GoneError",
    "InternalServerError",
    "NotFoundError",
    "PaidResponse",
    "PayloadTooLargeError",
    "PaymentOffer",
    "PaymentQuote",
    "PaymentRequiredError",
    "PaymentStatus",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "Response",
    "RetryPolicy",
    "ServiceUnavailableError",
    "Stream",
    "StreamError",
    "UnsupportedMediaTypeError",
    "Wallet",
    "classify_sdk_error",
    "decode_payment_response",
    "encode_payment",
    "parse_error",
    "parse_quote",
    "quote_from_error",
    "requirements_for",
    "requirements_v2_for",
]
