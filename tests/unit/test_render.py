"""Error envelopes: every catalogue class against its golden rendering, and the seed's shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.golden.regenerate import ERRORS_DIR, golden_path, renderings

import nanogate.server  # noqa: F401  (the whole gateway loaded: the catalogue it answers with)
from nanogate.core import (
    anthropic_body,
    chat_stream_error,
    error_headers,
    legacy_body,
    messages_stream_error,
    openai_body,
    render_error,
    responses_stream_failed,
)
from nanogate.errors import (
    DailyRequestLimitExceeded,
    FallbackBlockedForCacheConsistency,
    GatewayError,
    IdempotencyConflict,
    InsufficientBalance,
    MemoryBalanceRequired,
    MethodNotAllowed,
    MissingRequiredParameter,
    PaymentChallenge,
    PaymentRequired,
    RateLimitExceeded,
    RequestTimeout,
    ServiceUnavailable,
    catalogue,
)

REGENERATE = ".venv/bin/python tests/golden/regenerate.py"


def catalogued() -> list[object]:
    """catalogue() as test parameters, named by class."""
    return [pytest.param(cls, id=cls.__name__) for cls in catalogue()]


# Goldens -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", catalogued())
def test_golden_rendering(cls: type[GatewayError]) -> None:
    """Each catalogue class renders in every envelope exactly as its golden file says."""
    path = golden_path(cls)
    if not path.exists():
        pytest.fail(
            f"{cls.__name__} ({cls.code!r}) has no golden rendering at "
            f"{path.relative_to(ERRORS_DIR.parent.parent.parent)}; run `{REGENERATE}` "
            "and review the new file against the seed and DESIGN section 2."
        )
    expected = json.loads(path.read_text(encoding="utf-8"))
    actual = renderings(cls())
    for envelope in expected:
        assert actual[envelope] == expected[envelope], (
            f"{cls.__name__} renders differently from {path.name} in {envelope!r}; if the "
            f"change is intended, run `{REGENERATE}` and review the diff."
        )
    assert set(actual) == set(expected)


def test_no_orphan_goldens() -> None:
    """Every golden file belongs to a code the catalogue still answers with."""
    codes = {cls.code for cls in catalogue()}
    orphans = sorted(p.name for p in ERRORS_DIR.glob("*.json") if p.stem not in codes)
    assert orphans == []


# The seed's exact shapes -------------------------------------------------------------


def test_openai_envelope_matches_the_seed_example() -> None:
    """The OpenAI envelope is the seed's {"error": {message, type, code, param}}."""
    err = MissingRequiredParameter("Human-readable error message", param="model")
    assert openai_body(err) == {
        "error": {
            "message": "Human-readable error message",
            "type": "invalid_request_error",
            "code": "missing_required_parameter",
            "param": "model",
        }
    }


def test_openai_envelope_has_null_param_when_unset() -> None:
    """The OpenAI error object always carries param, null when no field is to blame."""
    assert openai_body(ServiceUnavailable())["error"]["param"] is None


def test_anthropic_envelope_contains_the_seed_example() -> None:
    """The Anthropic envelope has the seed's type/error{type, message, param} wrapper."""
    body = anthropic_body(MissingRequiredParameter("max_tokens is required", param="max_tokens"))
    assert set(body) == {"type", "error"}
    assert body["type"] == "error"
    seed_error = {
        "type": "invalid_request_error",
        "message": "max_tokens is required",
        "param": "max_tokens",
    }
    assert {k: body["error"][k] for k in seed_error} == seed_error


def test_anthropic_envelope_omits_param_when_unset() -> None:
    """The Anthropic error object has no param key when no field is to blame."""
    assert "param" not in anthropic_body(ServiceUnavailable())["error"]


def test_legacy_insufficient_balance_is_the_seed_body() -> None:
    """Legacy 402 is exactly the seed's {"error", "requiredBalance", "status"} body."""
    err = InsufficientBalance(fields={"requiredBalance": 0.0035})
    body = legacy_body(err)
    assert body == {"error": "Insufficient balance", "requiredBalance": 0.0035, "status": 402}
    assert json.dumps(body) == (
        '{"error": "Insufficient balance", "requiredBalance": 0.0035, "status": 402}'
    )


def test_legacy_body_adds_code_except_for_insufficient_balance() -> None:
    """Legacy bodies carry a convenience code; the seed's insufficient-balance body has none."""
    assert legacy_body(MemoryBalanceRequired())["code"] == "memory_balance_required"
    assert legacy_body(ServiceUnavailable()) == {
        "error": "Service temporarily unavailable. Please try again later.",
        "status": 503,
        "code": "service_unavailable",
    }
    assert "code" not in legacy_body(InsufficientBalance())


def test_openai_402_adds_top_level_status_and_required_balance() -> None:
    """OpenAI-surface 402s put requiredBalance and status beside the error object."""
    body = openai_body(InsufficientBalance(fields={"requiredBalance": 0.0035}))
    assert body == {
        "error": {
            "message": "Insufficient balance",
            "type": "insufficient_quota",
            "code": "insufficient_balance",
            "param": None,
        },
        "requiredBalance": 0.0035,
        "status": 402,
    }


@pytest.mark.parametrize(
    "cls",
    [c for c in catalogue() if issubclass(c, PaymentRequired) and c is not PaymentChallenge],
    ids=lambda cls: cls.__name__,
)
def test_openai_balance_errors_mirror_status_on_top(cls: type[GatewayError]) -> None:
    """Every balance 402 on the OpenAI surface has a top-level status of 402."""
    body = openai_body(cls())
    assert body["status"] == 402
    assert "status" not in body["error"]


def test_x402_challenge_error_object_is_exactly_type_code_message() -> None:
    """The x402 challenge's error object has exactly the seed's type, code and message."""
    payment = {"version": 1, "paymentId": "pay_1"}
    err = PaymentChallenge(fields={"payment": payment, "x402Version": 1, "accepts": []})
    assert openai_body(err) == {
        "error": {
            "type": "insufficient_quota",
            "code": "insufficient_quota",
            "message": "Payment required to complete this request.",
        },
        "payment": payment,
        "x402Version": 1,
        "accepts": [],
    }


def test_fallback_blocked_has_status_inside_error() -> None:
    """fallback_blocked_for_cache_consistency carries "status": 503 inside error, not beside it."""
    body = openai_body(FallbackBlockedForCacheConsistency())
    assert set(body) == {"error"}
    assert body["error"]["status"] == 503
    assert body["error"]["code"] == "fallback_blocked_for_cache_consistency"


def test_render_error_dispatches_per_surface() -> None:
    """render_error picks the surface's renderer."""
    err = IdempotencyConflict()
    assert render_error(err, "openai") == openai_body(err)
    assert render_error(err, "anthropic") == anthropic_body(err)
    assert render_error(err, "legacy") == legacy_body(err)


# Headers -----------------------------------------------------------------------------


@pytest.mark.parametrize("cls", catalogue(), ids=lambda cls: cls.__name__)
def test_should_retry_header_follows_retryable(cls: type[GatewayError]) -> None:
    """Every error tells stock SDKs whether to retry with x-should-retry; those with a
    default wait (every 429) add Retry-After."""
    expected = [("x-should-retry", "true" if cls.retryable else "false")]
    if cls.default_retry_after is not None:
        expected.append(("retry-after", str(cls.default_retry_after)))
    assert error_headers(cls()) == expected


def test_every_429_has_a_retry_after() -> None:
    """DESIGN section 2: Retry-After on every 429, even when the raise site gives none."""
    for cls in catalogue():
        if cls.status == 429:
            assert dict(error_headers(cls()))["retry-after"] == "1"


def test_retry_after_header() -> None:
    """A retry_after becomes an integer Retry-After header beside x-should-retry: true."""
    assert error_headers(RateLimitExceeded(retry_after=3)) == [
        ("x-should-retry", "true"),
        ("retry-after", "3"),
    ]


@pytest.mark.parametrize("retry_after", [0, -5])
def test_retry_after_is_at_least_one_second(retry_after: int) -> None:
    """A zero (or negative) wait renders as Retry-After: 1, never 0."""
    headers = dict(error_headers(RateLimitExceeded(retry_after=retry_after)))
    assert int(headers["retry-after"]) >= 1


def test_daily_limit_headers() -> None:
    """A daily limit sends Retry-After to midnight and x-should-retry: false."""
    assert error_headers(DailyRequestLimitExceeded(retry_after=3600)) == [
        ("x-should-retry", "false"),
        ("retry-after", "3600"),
    ]


def test_error_headers_include_the_errors_own() -> None:
    """Headers an error carries (Allow, Connection) come after the retry hints."""
    assert error_headers(MethodNotAllowed(headers={"allow": "GET, HEAD"})) == [
        ("x-should-retry", "false"),
        ("allow", "GET, HEAD"),
    ]
    assert ("connection", "close") in error_headers(RequestTimeout(headers={"connection": "close"}))


# Streaming dialects ------------------------------------------------------------------


def test_chat_stream_frame_is_the_seed_example() -> None:
    """The mid-stream chat error frame is byte for byte the seed's example."""
    frame = chat_stream_error(ServiceUnavailable(), "chatcmpl_...")
    assert "data: " + json.dumps(frame, separators=(",", ":")) == (
        'data: {"id":"chatcmpl_...","object":"chat.completion.chunk","choices":[{"index":0,'
        '"delta":{},"finish_reason":"error"}],"error":{"status":503,"message":"Service '
        'temporarily unavailable. Please try again later.","code":"service_unavailable"}}'
    )


def test_messages_stream_error_is_the_anthropic_envelope() -> None:
    """The Messages stream's error event data is the Anthropic error envelope."""
    err = ServiceUnavailable()
    data = messages_stream_error(err)
    assert data == anthropic_body(err)
    assert data["type"] == "error"
    assert data["error"]["type"] == "api_error"
    assert data["error"]["message"] == err.message


def test_responses_stream_failed_marks_the_response_failed() -> None:
    """response.failed carries the streamed response, status failed, and the error."""
    response: dict[str, Any] = {
        "id": "resp_1",
        "object": "response",
        "status": "in_progress",
        "output": [{"type": "message"}],
    }
    event = responses_stream_failed(ServiceUnavailable("down"), response, 12)
    assert event == {
        "type": "response.failed",
        "sequence_number": 12,
        "response": {
            "id": "resp_1",
            "object": "response",
            "status": "failed",
            "output": [{"type": "message"}],
            "error": {"code": "service_unavailable", "message": "down"},
        },
    }
    assert response["status"] == "in_progress"
    assert "error" not in response
