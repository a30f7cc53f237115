"""The upstream error table: one test per row, plus the transport mapping."""

from __future__ import annotations

import logging

import aiohttp
import orjson
import pytest

from nanogate.core import Secrets
from nanogate.errors import (
    ContextLengthExceeded,
    GatewayError,
    InvalidParameterValue,
    ModelNotAvailable,
    RateLimitExceeded,
    RequestTooLarge,
    ServiceUnavailable,
    UpstreamTimeout,
    catalogue,
)
from nanogate.providers._upstream_errors import (
    error_for_event,
    error_for_status,
    upstream_errors,
)


def body(message: str = "bad", code: str | None = None, param: str | None = None) -> bytes:
    return orjson.dumps({"error": {"message": message, "code": code, "param": param}})


@pytest.mark.parametrize(
    ("status", "payload", "headers", "expected", "code"),
    [
        (429, body(), {"retry-after": "7"}, RateLimitExceeded, "rate_limit_exceeded"),
        (401, body(), {}, ServiceUnavailable, "service_unavailable"),
        (403, body(), {}, ServiceUnavailable, "service_unavailable"),
        (408, body(), {}, UpstreamTimeout, "upstream_timeout"),
        (504, body(), {}, UpstreamTimeout, "upstream_timeout"),
        (404, body(), {}, ModelNotAvailable, "model_not_available"),
        (413, body(), {}, RequestTooLarge, "request_too_large"),
        (
            400,
            body(code="context_length_exceeded"),
            {},
            ContextLengthExceeded,
            "context_length_exceeded",
        ),
        (400, body(param="temperature"), {}, InvalidParameterValue, "invalid_parameter_value"),
        (422, b"not json", {}, InvalidParameterValue, "invalid_parameter_value"),
        (500, body(), {}, ServiceUnavailable, "service_unavailable"),
        (503, body(), {"retry-after": "3"}, ServiceUnavailable, "service_unavailable"),
        (409, body(), {}, ServiceUnavailable, "service_unavailable"),
    ],
)
def test_each_status_row(status, payload, headers, expected, code) -> None:
    """Each upstream status maps to its catalogue error, with its code."""
    err = error_for_status(status, payload, headers)
    assert type(err) is expected and err.code == code
    assert type(err) in catalogue()


def test_upstream_rate_limit_forwards_retry_after() -> None:
    """An upstream 429's Retry-After is passed on; without one the client waits 1 s."""
    assert error_for_status(429, b"", {"retry-after": "7"}).retry_after == 7
    assert error_for_status(429, b"", {}).retry_after == 1
    assert error_for_status(503, b"", {"retry-after": "3"}).retry_after == 3


def test_the_param_named_by_the_upstream_is_kept() -> None:
    """A 400 naming a parameter keeps it as the error's param."""
    assert error_for_status(400, body(param="temperature"), {}).param == "temperature"


def test_upstream_messages_lose_addresses_and_credentials() -> None:
    """Passed-on upstream text never carries URLs, addresses or keys."""
    message = (
        "model fast-v2 missing at http://10.0.0.5:8000/v1 (host 10.0.0.5:8000, "
        "[fe80::1]:80, localhost:11434) key sk-proj-abcdefghijklmnop"
    )
    err = error_for_status(400, body(message), {})
    for secret in ("10.0.0.5", "http://", "fe80", "11434", "sk-proj-abcdefghijklmnop"):
        assert secret not in err.message
    assert err.message.startswith("The model provider rejected the request: model fast-v2")
    assert "http://" not in error_for_status(404, body(message), {}).message


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"error": "boom"}, "service_unavailable"),
        ({"error": {"message": "slow down", "status": 429}}, "rate_limit_exceeded"),
        ({"error": {"message": "x", "status": "weird"}}, "service_unavailable"),
        (
            {"error": {"message": "long", "status": 400, "code": "context_length_exceeded"}},
            "context_length_exceeded",
        ),
    ],
)
def test_error_frames_inside_a_stream(frame, code) -> None:
    """An error frame in an upstream stream, object or bare string, maps like a status."""
    assert error_for_event(frame).code == code


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (TimeoutError(), UpstreamTimeout),
        (aiohttp.ServerTimeoutError(), UpstreamTimeout),
        (aiohttp.ClientConnectionError(), ServiceUnavailable),
        (ConnectionResetError(), ServiceUnavailable),
        (orjson.JSONDecodeError("x", "y", 0), ServiceUnavailable),
        (ValueError("SSE line exceeds the size limit"), ServiceUnavailable),
    ],
)
def test_transport_failures(raised: Exception, expected: type[GatewayError]) -> None:
    """Timeouts, broken connections and malformed data become catalogue errors, chained."""
    with pytest.raises(expected) as caught, upstream_errors():
        raise raised
    assert caught.value.__cause__ is raised


def test_catalogue_errors_pass_through_unchanged() -> None:
    """A catalogue error raised inside the block is not re-mapped."""
    original = RateLimitExceeded()
    with pytest.raises(RateLimitExceeded) as caught, upstream_errors():
        raise original
    assert caught.value is original


CREDENTIAL = "opcred-4f7c2a9e1b3d5f60a7c9"


@pytest.mark.parametrize("status", [400, 401, 422, 500])
def test_an_echoed_credential_is_in_neither_the_error_nor_the_log(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    """An upstream error quoting the credential the request carried, in a shape pattern
    redaction does not know, repeats it neither in the catalogue error nor in the log
    line that keeps the upstream's words."""
    caplog.set_level(logging.DEBUG)
    message = f"Invalid token {CREDENTIAL}; also {CREDENTIAL[:12]}…"
    err = error_for_status(status, body(message), {}, secrets=Secrets([CREDENTIAL]))
    frame = error_for_event(
        {"error": {"message": message, "status": status}}, secrets=Secrets([CREDENTIAL])
    )
    for text in (err.message, frame.message, caplog.text):
        assert CREDENTIAL[:8] not in text
    assert "Invalid token [redacted]; also [redacted]…" in caplog.text
