"""The client's exception tree: one class per HTTP status, parsed from every envelope.

::

    APIError ............................................. any failed request
    ├── APIConnectionError ................................ no HTTP answer (retryable)
    │   └── APITimeoutError ............................... the request timed out
    ├── APIResponseValidationError ........................ a 2xx whose body is unreadable
    └── APIStatusError .................................... an HTTP error answer
        ├── BadRequestError ............................... 400
        ├── AuthenticationError ........................... 401
        ├── PaymentRequiredError .......................... 402 (``payment``, ``required_balance``)
        ├── PermissionDeniedError ......................... 403
        ├── NotFoundError ................................. 404
        ├── RequestTimeoutError ........................... 408
        ├── ConflictError ................................. 409
        ├── GoneError ..................................... 410
        ├── PayloadTooLargeError .......................... 413
        ├── UnsupportedMediaTypeError ..................... 415
        ├── RateLimitError ................................ 429
        │   └── DailyLimitError ........................... daily_rpd / daily_usd limits
        ├── InternalServerError ........................... 500
        ├── ServiceUnavailableError ....................... 503
        ├── GatewayTimeoutError ........................... 504
        └── StreamError ................................... a failure inside a stream

Other statuses are a plain :class:`APIStatusError`. Each error carries the fields of
the envelope it came from; :func:`nanogate.client.parse_error` builds them, and the
status→class table below is derived from this tree.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar

DAILY_LIMIT_CODES = frozenset({"daily_rpd_limit_exceeded", "daily_usd_limit_exceeded"})


class APIError(Exception):
    """Base of every error the client raises.

    ``status`` is ``None`` when no HTTP answer was received. ``retryable`` says whether
    the seed's retry guidance (or the server's ``x-should-retry``) allows a retry;
    ``retry_after`` is the server's ``Retry-After`` in seconds.
    """

    message: str
    status: int | None
    code: str | None
    type: str | None
    param: str | None
    request_id: str | None
    retry_after: float | None
    retryable: bool
    family: str | None
    payment: dict[str, Any] | None
    required_balance: Decimal | None
    body: object
    headers: Mapping[str, str]

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        type: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        retryable: bool = False,
        family: str | None = None,
        payment: dict[str, Any] | None = None,
        required_balance: Decimal | None = None,
        body: object = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.type = type
        self.param = param
        self.request_id = request_id
        self.retry_after = retry_after
        self.retryable = retryable
        self.family = family
        self.payment = payment
        self.required_balance = required_balance
        self.body = body
        self.headers = headers if headers is not None else {}

    def __str__(self) -> str:
        details = [f"status {self.status}"] if self.status is not None else []
        if self.code:
            details.append(f"code {self.code}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        return f"{self.message} ({', '.join(details)})" if details else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, status={self.status!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class APIConnectionError(APIError):
    """The request got no HTTP answer: refused, reset, or a protocol failure."""

    def __init__(self, message: str = "Connection error.", **fields: Any) -> None:
        fields.setdefault("retryable", True)
        super().__init__(message, **fields)


class APITimeoutError(APIConnectionError):
    """The request timed out before a complete answer arrived."""

    def __init__(self, message: str = "Request timed out.", **fields: Any) -> None:
        super().__init__(message, **fields)


class APIResponseValidationError(APIError):
    """A successful answer whose body is not the JSON the endpoint promises."""


class APIStatusError(APIError):
    """An HTTP error answer. Subclasses name the status; others land here."""

    http_status: ClassVar[int | None] = None
    """The status this class stands for (``None``: any status)."""


class BadRequestError(APIStatusError):
    """400: the request is invalid; fix it before retrying."""

    http_status = 400


class AuthenticationError(APIStatusError):
    """401: missing or invalid API key."""

    http_status = 401


class PaymentRequiredError(APIStatusError):
    """402: insufficient balance (``required_balance``) or an x402 challenge (``payment``)."""

    http_status = 402


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed this model or feature."""

    http_status = 403


class NotFoundError(APIStatusError):
    """404: unknown model or resource."""

    http_status = 404


class RequestTimeoutError(APIStatusError):
    """408: the server gave up waiting for the request."""

    http_status = 408


class ConflictError(APIStatusError):
    """409: duplicate, in flight or already processed."""

    http_status = 409


class GoneError(APIStatusError):
    """410: the resource expired (an x402 quote past ``expiresAt``)."""

    http_status = 410


class PayloadTooLargeError(APIStatusError):
    """413: the request body is too large."""

    http_status = 413


class UnsupportedMediaTypeError(APIStatusError):
    """415: the body is not JSON, or in an encoding the server does not decode."""

    http_status = 415


class RateLimitError(APIStatusError):
    """429: rate limited; wait ``retry_after`` seconds."""

    http_status = 429


class DailyLimitError(RateLimitError):
    """429 for a per-key daily limit; ``retry_after`` runs to the next 00:00 UTC.

    Never retried automatically.
    """


class InternalServerError(APIStatusError):
    """500: the server failed."""

    http_status = 500


class ServiceUnavailableError(APIStatusError):
    """503: temporarily unavailable; retry with backoff or change model."""

    http_status = 503


class GatewayTimeoutError(APIStatusError):
    """504: the upstream did not answer in time."""

    http_status = 504


class StreamError(APIStatusError):
    """A stream failed after it began: an error frame, or no terminal event.

    ``error`` is the status class built from the frame (a
    :class:`ServiceUnavailableError` for a 503 frame); for a truncated stream it is a
    plain :class:`APIStatusError` with ``status`` ``None`` and code
    ``stream_truncated``. The other fields are copied from ``error``.
    """

    error: APIStatusError

    def __init__(self, error: APIStatusError) -> None:
        super().__init__(
            error.message,
            status=error.status,
            code=error.code,
            type=error.type,
            param=error.param,
            request_id=error.request_id,
            retry_after=error.retry_after,
            retryable=error.retryable,
            family=error.family,
            payment=error.payment,
            required_balance=error.required_balance,
            body=error.body,
            headers=error.headers,
        )
        self.error = error


@cache
def _status_classes() -> dict[int, type[APIStatusError]]:
    """Status → class, read off the tree: every class that names its own status."""
    found: dict[int, type[APIStatusError]] = {}
    pending: list[type[APIStatusError]] = [APIStatusError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        status = vars(cls).get("http_status")
        if status is not None:
            found[status] = cls
    return found


def status_class(status: int, code: str | None) -> type[APIStatusError]:
    """The class for an error answer: by status, and by code for the daily limits."""
    if status == 429 and code in DAILY_LIMIT_CODES:
        return DailyLimitError
    return _status_classes().get(status, APIStatusError)
