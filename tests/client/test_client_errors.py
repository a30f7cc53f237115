"""parse_error: every envelope to the typed error tree, with every field, never a crash."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime

import pytest

from nanogate.client import (
    FAMILIES,
    APIError,
    APIStatusError,
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
    UnsupportedMediaTypeError,
    parse_error,
)
from nanogate.client._parse import retry_after_seconds

X402_CHALLENGE = {
    "error": {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": "Payment required to complete this request.",
    },
    "payment": {
        "version": 1,
        "paymentId": "pay_1",
        "amountUsd": "0.0714",
        "statusUrl": "https://nano-gpt.com/api/x402/status/pay_1",
        "completeUrl": "https://nano-gpt.com/api/x402/complete/pay_1",
        "accepted": [{"scheme": "nano", "network": "nano-mainnet", "paymentId": "pay_1"}],
    },
    "x402Version": 1,
    "accepts": [],
}


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (402, PaymentRequiredError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (408, RequestTimeoutError),
        (409, ConflictError),
        (410, GoneError),
        (413, PayloadTooLargeError),
        (415, UnsupportedMediaTypeError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, ServiceUnavailableError),
        (504, GatewayTimeoutError),
        (418, APIStatusError),
        (502, APIStatusError),
        (599, APIStatusError),
    ],
)
def test_each_status_has_its_class(status: int, cls: type[APIStatusError]) -> None:
    """Each documented status parses to its own class; others to APIStatusError."""
    error = parse_error(status, {}, None)
    assert type(error) is cls
    assert error.status == status


def test_openai_envelope() -> None:
    """The OpenAI envelope fills message, type, code and param; headers the rest."""
    body = {
        "error": {
            "message": "Missing required parameter: 'model'.",
            "type": "invalid_request_error",
            "code": "missing_required_parameter",
            "param": "model",
        }
    }
    error = parse_error(400, {"X-Request-ID": "req_abc", "x-should-retry": "false"}, body)
    assert isinstance(error, BadRequestError)
    assert (error.message, error.type, error.code, error.param) == (
        "Missing required parameter: 'model'.",
        "invalid_request_error",
        "missing_required_parameter",
        "model",
    )
    assert error.request_id == "req_abc"
    assert error.family == "validation"
    assert error.retryable is False
    assert error.body == body
    assert "Missing required parameter" in str(error)
    assert "missing_required_parameter" in str(error) and "req_abc" in str(error)


def test_anthropic_envelope_from_bytes() -> None:
    """The Anthropic envelope, as raw bytes, with the request-id header it uses."""
    body = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "max_tokens is required",
            "param": "max_tokens",
        },
    }
    error = parse_error(400, {"request-id": "req_ant"}, json.dumps(body).encode())
    assert isinstance(error, BadRequestError)
    assert (error.type, error.message, error.param, error.code) == (
        "invalid_request_error",
        "max_tokens is required",
        "max_tokens",
        None,
    )
    assert error.request_id == "req_ant"
    assert error.family is None


def test_legacy_insufficient_balance() -> None:
    """The legacy string envelope: the message, and requiredBalance as an exact Decimal."""
    body = '{"error": "Insufficient balance", "requiredBalance": 0.0035, "status": 402}'
    error = parse_error(402, {}, body)
    assert isinstance(error, PaymentRequiredError)
    assert error.message == "Insufficient balance"
    assert error.required_balance == Decimal("0.0035")
    assert error.payment is None
    assert error.retryable is False


def test_legacy_envelope_with_code() -> None:
    """A legacy body's code convenience field is read, and sets the family."""
    code = "daily_rpd_limit_exceeded"
    body = {"error": "Daily request limit reached", "status": 429, "code": code}
    error = parse_error(429, {"Retry-After": "3600"}, body)
    assert isinstance(error, DailyLimitError)
    assert error.code == "daily_rpd_limit_exceeded"
    assert error.family == "daily_limit"
    assert error.retry_after == 3600


def test_openai_402_convenience_fields() -> None:
    """An OpenAI-surface 402 carries requiredBalance beside the error object."""
    body = {
        "error": {
            "message": "Insufficient balance",
            "type": "insufficient_quota",
            "code": "insufficient_balance",
            "param": None,
        },
        "requiredBalance": "0.10",
        "status": 402,
    }
    error = parse_error(402, {}, body)
    assert error.required_balance == Decimal("0.10")
    assert error.family == "payment"
    assert error.param is None


def test_x402_challenge_is_detected_by_payment_object() -> None:
    """The x402 challenge is a PaymentRequiredError whose payment is the parsed object."""
    error = parse_error(402, {}, json.dumps(X402_CHALLENGE))
    assert isinstance(error, PaymentRequiredError)
    assert error.payment == X402_CHALLENGE["payment"]
    assert error.code == "insufficient_quota"
    assert error.message == "Payment required to complete this request."


def test_daily_usd_limit_is_a_daily_limit_error() -> None:
    """Both daily-limit codes parse to DailyLimitError, a RateLimitError, never retryable."""
    code = "daily_usd_limit_exceeded"
    body = {"error": {"message": "x", "type": "rate_limit_error", "code": code}}
    error = parse_error(429, {"retry-after": "100"}, body)
    assert isinstance(error, DailyLimitError) and isinstance(error, RateLimitError)
    assert error.retryable is False


def test_per_second_rate_limit_is_retryable() -> None:
    """A per-second 429 is a plain RateLimitError, retryable, with its Retry-After."""
    body = {"error": {"message": "x", "type": "rate_limit_error", "code": "rate_limit_exceeded"}}
    error = parse_error(429, {"Retry-After": "2"}, body)
    assert type(error) is RateLimitError
    assert error.retryable is True
    assert error.retry_after == 2.0
    assert error.family == "rate_limit"


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (408, True),
        (429, True),
        (500, True),
        (503, True),
        (504, True),
        (400, False),
        (401, False),
        (402, False),
        (403, False),
        (404, False),
        (409, False),
        (413, False),
    ],
)
def test_retryable_follows_the_seed(status: int, retryable: bool) -> None:
    """Without x-should-retry, the seed's retry guidance decides retryable."""
    assert parse_error(status, {}, None).retryable is retryable


def test_x_should_retry_overrides() -> None:
    """An explicit x-should-retry header wins over the status's default, except that the
    seed's never-retry statuses (400, 401, 402, 403, 404, 409, 413) stay final."""
    assert parse_error(503, {"x-should-retry": "false"}, None).retryable is False
    assert parse_error(418, {"X-Should-Retry": "true"}, None).retryable is True
    for status in (400, 401, 402, 403, 404, 409, 413):
        assert parse_error(status, {"x-should-retry": "true"}, None).retryable is False


@pytest.mark.parametrize(
    "body",
    [
        None,
        b"",
        "   ",
        "<html>Bad Gateway</html>",
        b"\xff\xfe garbage",
        "{not json",
        "[1, 2]",
        {"error": 42},
        {"error": None},
        {"error": {"message": ["a"], "code": 7}},
        {"unrelated": True},
    ],
)
def test_unknown_shapes_degrade_to_the_status_class(body: object) -> None:
    """Odd, empty or garbage bodies still give the status's class and a message."""
    error = parse_error(503, {}, body)  # type: ignore[arg-type]
    assert isinstance(error, ServiceUnavailableError)
    assert error.message


def test_plain_text_body_is_the_message() -> None:
    """A plain-text error answer becomes the message, and stays the body."""
    error = parse_error(500, {}, "upstream exploded")
    assert error.message == "upstream exploded"
    assert error.body == "upstream exploded"


def test_empty_body_message_names_the_status() -> None:
    """An empty body gives a message naming the status."""
    assert parse_error(404, {}, b"").message == "HTTP 404 Not Found"


def test_numeric_code_becomes_text() -> None:
    """A numeric code is kept, as text."""
    assert parse_error(400, {}, {"error": {"message": "m", "code": 123}}).code == "123"


def test_retry_after_as_http_date() -> None:
    """Retry-After may be an HTTP date; it becomes seconds from now."""
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds({"retry-after": header}, now=now.timestamp()) == 90


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "-5"}, 0.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
    ],
)
def test_retry_after_forms(headers: dict[str, str], expected: float | None) -> None:
    """Retry-After in seconds, retry-after-ms first; unreadable is None, negative is 0."""
    assert retry_after_seconds(headers) == expected


def test_families_cover_the_seeds_codes() -> None:
    """Every code the seed lists belongs to its family."""
    seed = {
        "validation": {"missing_required_parameter", "invalid_json", "unsupported_batch_input"},
        "content": {"content_policy_violation", "context_length_exceeded", "empty_response"},
        "routing": {
            "model_not_found",
            "all_fallbacks_failed",
            "fallback_blocked_for_cache_consistency",
        },
        "payment": {
            "memory_balance_required",
            "webSearch_balance_required",
            "both_balance_required",
        },
        "rate_limit": {"rate_limit_exceeded"},
        "daily_limit": {"daily_rpd_limit_exceeded", "daily_usd_limit_exceeded"},
    }
    for family, codes in seed.items():
        assert codes <= FAMILIES[family]


def test_status_errors_are_api_errors() -> None:
    """Every parsed error is an APIError and an Exception callers can catch broadly."""
    error = parse_error(500, {}, None)
    assert isinstance(error, APIError)
    with pytest.raises(APIError):
        raise error
