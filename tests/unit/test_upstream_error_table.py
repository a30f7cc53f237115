"""The upstream error table, row by row, for both upstream dialects.

Each row of ``STATUS_TABLE``, each per-dialect quirk of a 400 and each kind of
in-band stream error has its own test; the BYOK seam and the content-filter checks
of whole and streamed answers are pinned too.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from nanogate.errors import (
    ContentPolicyViolation,
    ContextLengthExceeded,
    GatewayError,
    InvalidAPIKey,
    InvalidParameterValue,
    RateLimitExceeded,
    ServiceUnavailable,
    UpstreamTimeout,
    catalogue,
)
from nanogate.providers._upstream_errors import (
    QUIRKS,
    STATUS_TABLE,
    Dialect,
    FilterWatch,
    Problem,
    check_filtered,
    error_for_event,
    error_for_status,
)


def openai(message: str = "bad", code: str | None = None, param: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "code": code,
                "param": param,
            }
        }
    )


def anthropic(message: str = "bad", kind: str = "invalid_request_error") -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})


DIALECTS: list[Dialect] = ["openai", "anthropic"]


def mapped(status: int, dialect: Dialect, headers: dict[str, str] | None = None, **kw: Any) -> Any:
    body = openai() if dialect == "openai" else anthropic()
    return error_for_status(status, body, headers or {}, dialect=dialect, **kw)


# Status rows ----------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_429_is_rate_limit_exceeded_with_the_upstream_retry_after(dialect: Dialect) -> None:
    """Upstream 429 → 429 rate_limit_exceeded, forwarding its Retry-After (1 s if none)."""
    err = mapped(429, dialect, {"retry-after": "7"})
    assert type(err) is RateLimitExceeded and err.status == 429 and err.retry_after == 7
    assert mapped(429, dialect).retry_after == 1


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("status", [401, 403])
def test_refused_operator_credentials_are_503(dialect: Dialect, status: int) -> None:
    """Upstream 401/403 with the operator's key → 503 service_unavailable (not the
    client's fault; retryable once the operator fixes the key)."""
    err = mapped(status, dialect)
    assert type(err) is ServiceUnavailable and err.code == "service_unavailable"
    assert "your API key" not in err.message


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("status", [401, 403])
def test_refused_byok_credentials_are_401_naming_your_api_key(
    dialect: Dialect, status: int
) -> None:
    """With BYOK, upstream 401/403 → 401 invalid_api_key whose message says "your API key"."""
    err = mapped(status, dialect, byok=True)
    assert type(err) is InvalidAPIKey and err.status == 401
    assert "your API key" in err.message


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("status", [408, 504])
def test_upstream_timeouts_are_504(dialect: Dialect, status: int) -> None:
    """Upstream 408/504 → 504 upstream_timeout."""
    assert type(mapped(status, dialect)) is UpstreamTimeout


@pytest.mark.parametrize("dialect", DIALECTS)
def test_404_is_model_not_available(dialect: Dialect) -> None:
    """Upstream 404 → 503 model_not_available (the deployment is misconfigured)."""
    assert mapped(404, dialect).code == "model_not_available"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_413_is_request_too_large(dialect: Dialect) -> None:
    """Upstream 413 → 413 request_too_large."""
    assert mapped(413, dialect).code == "request_too_large"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("status", [400, 422])
def test_other_bad_requests_are_invalid_parameter_value(dialect: Dialect, status: int) -> None:
    """Upstream 400/422 without a recognised reason → 400 invalid_parameter_value,
    carrying the upstream's reason."""
    err = mapped(status, dialect)
    assert type(err) is InvalidParameterValue
    assert err.message == "The model provider rejected the request: bad"


@pytest.mark.parametrize("dialect", DIALECTS)
def test_529_overloaded_is_a_retryable_503(dialect: Dialect) -> None:
    """Upstream 529 (Anthropic's overloaded_error) → 503 service_unavailable, retryable."""
    err = mapped(529, dialect, {"retry-after": "2"})
    assert type(err) is ServiceUnavailable and err.retryable and err.retry_after == 2
    assert "overloaded" in err.message


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("status", [500, 502, 503, 402, 409])
def test_5xx_and_other_4xx_are_503(dialect: Dialect, status: int) -> None:
    """Upstream 5xx and 4xx without a row of their own → 503 service_unavailable,
    forwarding a Retry-After."""
    err = mapped(status, dialect, {"retry-after": "3"})
    assert type(err) is ServiceUnavailable and err.retry_after == 3


def test_every_row_maps_to_a_catalogue_error() -> None:
    """Whatever the status, the result is a class of the catalogue."""
    for status in [*range(400, 432), *range(500, 512), 529]:
        for dialect in DIALECTS:
            assert type(mapped(status, dialect)) in catalogue()
    assert STATUS_TABLE[-1][0] is None


def test_retry_after_in_fractional_seconds_rounds_up() -> None:
    """A fractional Retry-After is rounded up; an HTTP-date one is ignored."""
    assert mapped(429, "openai", {"retry-after": "1.2"}).retry_after == 2
    assert (
        mapped(503, "openai", {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}).retry_after is None
    )


# Quirks of a 400, per dialect -------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "body", "expected"),
    [
        ("openai", openai(code="context_length_exceeded"), ContextLengthExceeded),
        ("openai", openai(code="string_above_max_length"), ContextLengthExceeded),
        (
            "openai",
            openai("This model's maximum context length is 4096 tokens. However, ..."),
            ContextLengthExceeded,
        ),
        ("openai", openai(code="content_filter"), ContentPolicyViolation),
        ("openai", openai(code="content_policy_violation"), ContentPolicyViolation),
        (
            "anthropic",
            anthropic("prompt is too long: 210345 tokens > 200000 maximum"),
            ContextLengthExceeded,
        ),
        (
            "anthropic",
            anthropic(
                "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000"
            ),
            ContextLengthExceeded,
        ),
        (
            "anthropic",
            anthropic("Output blocked by content filtering policy"),
            ContentPolicyViolation,
        ),
    ],
)
def test_each_quirk_of_a_400(dialect: Dialect, body: bytes, expected: type[GatewayError]) -> None:
    """Each way a dialect says "context too long" or "content filtered" maps to its code."""
    err = error_for_status(400, body, {}, dialect=dialect)
    assert type(err) is expected


def test_quirks_belong_to_their_dialect() -> None:
    """An Anthropic message pattern does not fire for an OpenAI upstream, nor the reverse."""
    long_prompt = anthropic("prompt is too long: 9 tokens > 8 maximum")
    assert type(error_for_status(400, long_prompt, {}, dialect="openai")) is InvalidParameterValue
    coded = openai(code="content_filter")
    assert type(error_for_status(400, coded, {}, dialect="anthropic")) is InvalidParameterValue
    assert set(QUIRKS) == {"openai", "anthropic"}


def test_context_length_exceeded_keeps_the_upstreams_reason_without_addresses() -> None:
    """The client sees the upstream's reason, minus URLs and addresses."""
    body = anthropic("prompt is too long for http://10.0.0.9:8000/v1/messages")
    err = error_for_status(400, body, {}, dialect="anthropic")
    assert err.message.startswith("The model provider says: prompt is too long")
    assert "10.0.0.9" not in err.message and "http" not in err.message


# Parsing both dialects' bodies -----------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"error": {"message": "m", "type": "t", "code": "c", "param": "p"}},
            Problem("m", "t", "c", "p"),
        ),
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "m"}},
            Problem("m", "overloaded_error"),
        ),
        ({"error": "just a string"}, Problem("just a string")),
        (
            {"object": "error", "message": "m", "type": "BadRequestError", "code": 400},
            Problem("m", "BadRequestError"),
        ),
        ({"error": {"message": "m", "status": 429}}, Problem("m", status=429)),
        ([1, 2], Problem()),
        ({"unrelated": True}, Problem()),
    ],
)
def test_error_bodies_of_every_shape_are_read(data: Any, problem: Problem) -> None:
    """OpenAI, Anthropic, bare-string and vLLM top-level error bodies all parse; anything
    else is an empty problem."""
    assert Problem.parse(data) == problem


def test_a_body_that_is_not_json_is_an_empty_problem() -> None:
    """An HTML error page from a proxy still maps by its status."""
    assert Problem.from_body(b"<html>502</html>") == Problem()
    assert type(error_for_status(502, b"<html>502</html>", {})) is ServiceUnavailable


# In-band stream errors ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("overloaded_error", "service_unavailable"),
        ("api_error", "service_unavailable"),
        ("rate_limit_error", "rate_limit_exceeded"),
        ("timeout_error", "upstream_timeout"),
        ("authentication_error", "service_unavailable"),
        ("invalid_request_error", "invalid_parameter_value"),
        ("something_new", "service_unavailable"),
    ],
)
def test_anthropic_error_events_map_by_their_type(kind: str, code: str) -> None:
    """An Anthropic ``event: error`` carries no status: its type stands for one."""
    data = {"type": "error", "error": {"type": kind, "message": "m"}}
    assert error_for_event(data, dialect="anthropic").code == code


def test_openai_error_frames_map_by_status_then_type() -> None:
    """An OpenAI mid-stream error maps by its status, else its type, else as a 503."""
    assert error_for_event({"error": {"message": "m", "status": 429}}).code == "rate_limit_exceeded"
    assert error_for_event({"error": {"type": "rate_limit_error"}}).code == "rate_limit_exceeded"
    assert error_for_event({"error": {"type": "server_error"}}).code == "service_unavailable"
    assert error_for_event({"error": "boom"}).code == "service_unavailable"


def test_an_in_band_anthropic_refusal_pattern_is_a_content_policy_violation() -> None:
    """A mid-stream invalid_request_error worded as a content filter is recognised too."""
    data = {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "Output blocked by content filtering policy",
        },
    }
    assert type(error_for_event(data, dialect="anthropic")) is ContentPolicyViolation


# Content filters in successful answers ------------------------------------------------


def completion(content: str | None, finish: str, calls: bool = False) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [{"id": "c", "function": {"name": "f", "arguments": "{}"}}]
    return {"choices": [{"index": 0, "message": message, "finish_reason": finish}]}


def test_a_completion_filtered_before_any_output_is_a_content_policy_violation() -> None:
    """content_filter with no content and no tool call → 400 content_policy_violation."""
    for content in (None, ""):
        with pytest.raises(ContentPolicyViolation):
            check_filtered(completion(content, "content_filter"))


def test_partial_or_unfiltered_completions_pass() -> None:
    """Partial output cut by the filter is an answer; so is any other finish, and an
    empty answer is left for the gateway's own empty_response rule."""
    check_filtered(completion("Some text", "content_filter"))
    check_filtered(completion(None, "content_filter", calls=True))
    check_filtered(completion("", "stop"))
    check_filtered({"choices": []})


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def test_a_stream_filtered_before_any_output_raises_at_its_finish() -> None:
    """A stream whose role chunk is followed by a content_filter finish raises there."""
    watch = FilterWatch()
    watch.see(chunk({"role": "assistant", "content": ""}))
    with pytest.raises(ContentPolicyViolation):
        watch.see(chunk({}, "content_filter"))


def test_a_stream_filtered_after_some_output_ends_normally() -> None:
    """Once text was streamed, a content_filter finish is just how the answer ended."""
    watch = FilterWatch()
    watch.see(chunk({"content": "Hi"}))
    watch.see(chunk({}, "content_filter"))
    watch.see({"choices": [], "usage": {"prompt_tokens": 1}})
