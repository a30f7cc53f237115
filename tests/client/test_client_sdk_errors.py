"""classify_sdk_error: real openai and anthropic SDK exceptions into the same tree."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from nanogate.client import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    DailyLimitError,
    PaymentRequiredError,
    ServiceUnavailableError,
    StreamError,
    classify_sdk_error,
    parse_error,
)

REQUEST = httpx2.Request("POST", "http://127.0.0.1/api/v1/chat/completions")


def answer(status: int, body: Any, **headers: str) -> httpx2.Response:
    return httpx2.Response(
        status, content=json.dumps(body).encode(), headers=headers, request=REQUEST
    )


def test_openai_status_error_uses_the_full_body() -> None:
    """An openai 402 keeps requiredBalance (outside the error object the SDK keeps)."""
    body = {
        "error": {
            "message": "Insufficient balance",
            "type": "insufficient_quota",
            "code": "insufficient_balance",
            "param": None,
        },
        "requiredBalance": 0.02,
        "status": 402,
    }
    response = answer(402, body, **{"x-request-id": "req_oa"})
    exc = openai.APIStatusError("Error code: 402", response=response, body=body["error"])
    error = classify_sdk_error(exc)
    assert isinstance(error, PaymentRequiredError)
    assert (error.code, error.request_id) == ("insufficient_balance", "req_oa")
    assert error.required_balance == Decimal("0.02")


def test_openai_rate_limit_with_daily_code() -> None:
    """An openai RateLimitError with a daily-limit code is a DailyLimitError."""
    body = {
        "error": {"message": "m", "type": "rate_limit_error", "code": "daily_rpd_limit_exceeded"}
    }
    response = answer(429, body, **{"retry-after": "120"})
    error = classify_sdk_error(openai.RateLimitError("m", response=response, body=body["error"]))
    assert isinstance(error, DailyLimitError) and error.retry_after == 120


def test_anthropic_status_error() -> None:
    """An anthropic AuthenticationError maps by status, with the request-id header."""
    body = {"type": "error", "error": {"type": "authentication_error", "message": "bad key"}}
    response = answer(401, body, **{"request-id": "req_an"})
    exc = anthropic.AuthenticationError("bad key", response=response, body=body)
    error = classify_sdk_error(exc)
    assert isinstance(error, AuthenticationError)
    assert (error.type, error.message, error.request_id) == (
        "authentication_error",
        "bad key",
        "req_an",
    )


def test_sdk_body_is_used_when_the_answer_was_not_read() -> None:
    """With no readable content, the SDK's body (a bare error object) is parsed."""
    response = httpx2.Response(503, request=REQUEST)
    body = {"message": "down", "type": "service_unavailable", "code": "model_not_available"}
    error = classify_sdk_error(openai.InternalServerError("x", response=response, body=body))
    assert isinstance(error, ServiceUnavailableError)
    assert (error.code, error.family) == ("model_not_available", "routing")


@pytest.mark.parametrize(
    ("exc", "cls"),
    [
        (openai.APITimeoutError(request=REQUEST), APITimeoutError),
        (openai.APIConnectionError(request=REQUEST), APIConnectionError),
        (anthropic.APITimeoutError(request=REQUEST), APITimeoutError),
        (anthropic.APIConnectionError(request=REQUEST), APIConnectionError),
    ],
)
def test_connection_errors_by_class_name(exc: BaseException, cls: type) -> None:
    """SDK connection failures and timeouts map to ours, retryable, status None."""
    error = classify_sdk_error(exc)
    assert type(error) is cls
    assert error is not None and error.retryable and error.status is None


def test_openai_mid_stream_error_is_a_stream_error() -> None:
    """The openai SDK's mid-stream APIError (body: the frame's error) is a StreamError."""
    frame_error = {
        "status": 503,
        "message": "Service temporarily unavailable.",
        "code": "service_unavailable",
    }
    exc = openai.APIError("Service temporarily unavailable.", REQUEST, body=frame_error)
    error = classify_sdk_error(exc)
    assert isinstance(error, StreamError)
    assert isinstance(error.error, ServiceUnavailableError) and error.retryable


def test_anthropic_mid_stream_error_is_a_stream_error() -> None:
    """The anthropic SDK raises a status error on the 200 stream; it is a StreamError."""
    body = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    stream = httpx2.Response(200, headers={"request-id": "req_s"}, request=REQUEST)
    exc = anthropic.APIStatusError(str(body), response=stream, body=body)
    error = classify_sdk_error(exc)
    assert isinstance(error, StreamError)
    assert isinstance(error.error, ServiceUnavailableError)
    assert error.request_id == "req_s"


def test_other_exceptions_are_not_classified() -> None:
    """Exceptions that are not API failures give None; ours are returned unchanged."""
    assert classify_sdk_error(ValueError("bug")) is None
    assert classify_sdk_error(openai.OpenAIError("no key")) is None
    ours = parse_error(500, {}, None)
    assert classify_sdk_error(ours) is ours
