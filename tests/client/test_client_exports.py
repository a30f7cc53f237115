"""nanogate.client's public face: a pinned, sorted __all__ whose every name imports."""

from __future__ import annotations

import types

import nanogate.client

# Changing the client's public names is a deliberate act: update this list with it.
EXPORTS = [
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


def test_all_is_pinned() -> None:
    """The client exports exactly the pinned names, sorted."""
    assert nanogate.client.__all__ == EXPORTS


def test_every_export_imports() -> None:
    """Every exported name is an attribute of the package."""
    assert [n for n in EXPORTS if not hasattr(nanogate.client, n)] == []


def test_public_members_are_exported() -> None:
    """Every public object the package holds is exported, none by accident."""
    public = {
        name
        for name, value in vars(nanogate.client).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(EXPORTS)
