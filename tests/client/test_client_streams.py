"""Streams in the three dialects: items, error frames, truncation and the request id."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from tests.client.fake_api import FakeAPI, cut, sse, sse_bytes

from nanogate.client import (
    APIResponseValidationError,
    APIStatusError,
    GatewayTimeoutError,
    InternalServerError,
    PaymentRequiredError,
    RateLimitError,
    RetryPolicy,
    ServiceUnavailableError,
    StreamError,
)

HI = [{"role": "user", "content": "hi"}]
NO_RETRY = RetryPolicy.for_tests(0)


def chunk(text: str) -> str:
    choices = [{"delta": {"content": text}}]
    return json.dumps({"object": "chat.completion.chunk", "choices": choices})


# The seed's example frame, verbatim.
SEED_FRAME = (
    '{"id":"chatcmpl_...","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},'
    '"finish_reason":"error"}],"error":{"status":503,"message":"Service temporarily '
    'unavailable. Please try again later.","code":"service_unavailable"}}'
)

MESSAGE_EVENTS: list[tuple[str, Any]] = [
    ("message_start", {"type": "message_start", "message": {"id": "msg_1"}}),
    ("ping", {"type": "ping"}),
    ("content_block_delta", {"type": "content_block_delta", "delta": {"text": "hi"}}),
]
RESPONSE_EVENTS: list[tuple[str, Any]] = [
    ("response.created", {"type": "response.created", "response": {"id": "resp_1"}}),
    ("response.output_text.delta", {"type": "response.output_text.delta", "delta": "hi"}),
]


# Chat completions ------------------------------------------------------------------------


def test_chat_stream_yields_chunks_until_done() -> None:
    """Chunks arrive as dicts; [DONE] ends the stream cleanly and is not yielded."""
    api = FakeAPI(sse(chunk("a"), chunk("b"), "[DONE]"))
    with api.client() as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        texts = [c["choices"][0]["delta"]["content"] for c in stream]
    assert texts == ["a", "b"]
    assert api.json()["stream"] is True
    assert api.requests[0].headers["accept"] == "text/event-stream"


def test_chat_stream_request_id_is_known_before_the_first_chunk() -> None:
    """The stream's request id comes from the answer's headers, before iteration."""
    api = FakeAPI(sse(chunk("a"), "[DONE]", request_id="req_early"))
    with api.client() as client:
        with client.chat.completions.create(model="m", messages=HI, stream=True) as stream:
            assert stream.request_id == "req_early"
            list(stream)


def test_chat_seed_error_frame_raises_stream_error() -> None:
    """The seed's mid-stream frame raises StreamError with its status, message and code,
    and the 503 class in .error, after the chunks before it."""
    api = FakeAPI(sse(chunk("a"), SEED_FRAME, "[DONE]", request_id="req_frame"))
    seen: list[dict[str, Any]] = []
    with api.client(retry=NO_RETRY) as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            for item in stream:
                seen.append(item)
    error = caught.value
    assert len(seen) == 1
    assert (error.status, error.code, error.retryable) == (503, "service_unavailable", True)
    assert error.message == "Service temporarily unavailable. Please try again later."
    assert isinstance(error.error, ServiceUnavailableError)
    assert isinstance(error, APIStatusError)
    assert error.request_id == "req_frame"


def test_chat_finish_reason_error_without_error_object() -> None:
    """A finish_reason of error with no error object is still a failure."""
    frame = json.dumps({"choices": [{"index": 0, "delta": {}, "finish_reason": "error"}]})
    api = FakeAPI(sse(chunk("a"), frame, "[DONE]"))
    with api.client(retry=NO_RETRY) as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    assert isinstance(caught.value.error, InternalServerError)


def test_chat_stream_without_done_is_truncated() -> None:
    """A chat stream that ends without [DONE] raises stream_truncated, retryable."""
    api = FakeAPI(sse(chunk("a"), chunk("b"), request_id="req_trunc"))
    with api.client(retry=NO_RETRY) as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    error = caught.value
    assert (error.code, error.status, error.retryable) == ("stream_truncated", None, True)
    assert error.error.code == "stream_truncated"
    assert error.request_id == "req_trunc"


def test_chat_stream_cut_connection_is_truncated() -> None:
    """A connection reset mid-stream raises stream_truncated, chained to the httpx error."""
    api = FakeAPI(cut(sse_bytes(chunk("a"))))
    with api.client(retry=NO_RETRY) as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        assert next(stream)["choices"][0]["delta"]["content"] == "a"
        with pytest.raises(StreamError) as caught:
            next(stream)
    assert caught.value.code == "stream_truncated"
    assert isinstance(caught.value.__cause__, httpx.ReadError)


def test_keepalive_comments_are_skipped() -> None:
    """SSE comments (keep-alives) are never items."""
    body = b": keep-alive\n\n" + sse_bytes(chunk("a")) + b": keep-alive\n\ndata: [DONE]\n\n"
    api = FakeAPI(httpx.Response(200, content=body))
    with api.client() as client:
        assert len(list(client.chat.completions.create(model="m", messages=HI, stream=True))) == 1


def test_unreadable_data_is_a_stream_error() -> None:
    """A data line that is not a JSON object fails the stream, not retryable."""
    api = FakeAPI(sse(chunk("a"), "not json", "[DONE]"))
    with api.client(retry=NO_RETRY) as client:
        stream = client.chat.completions.create(model="m", messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    assert caught.value.code == "invalid_stream_data" and not caught.value.retryable


def test_closing_a_stream_releases_the_connection() -> None:
    """Leaving the with block closes the answer, even mid-stream."""
    api = FakeAPI(sse(chunk("a"), chunk("b"), "[DONE]"))
    with api.client() as client:
        with client.chat.completions.create(model="m", messages=HI, stream=True) as stream:
            next(stream)
        assert stream.response.is_closed
        assert list(stream) == []


# Messages --------------------------------------------------------------------------------


def test_messages_stream_yields_named_events() -> None:
    """Messages events arrive as {"event", "data"}, ping included, up to message_stop."""
    api = FakeAPI(sse(*MESSAGE_EVENTS, ("message_stop", {"type": "message_stop"})))
    with api.client() as client:
        items = list(client.messages.create(model="m", max_tokens=5, messages=HI, stream=True))
    assert [item["event"] for item in items] == [
        "message_start",
        "ping",
        "content_block_delta",
        "message_stop",
    ]
    assert items[2]["data"]["delta"]["text"] == "hi"
    assert api.requests[0].headers["anthropic-version"] == "2023-06-01"


def test_messages_error_event_raises_stream_error() -> None:
    """``event: error`` raises StreamError; the gateway's code picks the status class."""
    data = {
        "type": "error",
        "error": {"type": "api_error", "message": "overloaded", "code": "service_unavailable"},
    }
    api = FakeAPI(sse(*MESSAGE_EVENTS, ("error", data)))
    with api.client(retry=NO_RETRY) as client:
        stream = client.messages.create(model="m", max_tokens=5, messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    error = caught.value
    assert (error.status, error.code, error.type) == (503, "service_unavailable", "api_error")
    assert isinstance(error.error, ServiceUnavailableError)


def test_anthropic_error_event_without_code_uses_its_type() -> None:
    """An Anthropic error event without a code takes its status from the type."""
    data = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    api = FakeAPI(sse(MESSAGE_EVENTS[0], ("error", data)))
    with api.client(retry=NO_RETRY) as client:
        stream = client.messages.create(model="m", max_tokens=5, messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    assert isinstance(caught.value.error, ServiceUnavailableError)


def test_messages_stream_without_message_stop_is_truncated() -> None:
    """A Messages stream that never sends message_stop raises stream_truncated."""
    api = FakeAPI(sse(*MESSAGE_EVENTS))
    with api.client(retry=NO_RETRY) as client:
        stream = client.messages.create(model="m", max_tokens=5, messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    assert caught.value.code == "stream_truncated"


# Responses -------------------------------------------------------------------------------


def test_responses_stream_ends_at_response_completed() -> None:
    """Responses events arrive as {"event", "data"} up to response.completed."""
    done = ("response.completed", {"type": "response.completed", "response": {"id": "resp_1"}})
    api = FakeAPI(sse(*RESPONSE_EVENTS, done))
    with api.client() as client:
        items = list(client.responses.create(model="m", input="hi", stream=True))
    assert items[-1]["event"] == "response.completed"
    assert api.json() == {"model": "m", "input": "hi", "stream": True}


def test_responses_failed_raises_stream_error() -> None:
    """``response.failed`` raises StreamError; its code gives the status class."""
    failed = {
        "type": "response.failed",
        "response": {"status": "failed", "error": {"code": "upstream_timeout", "message": "slow"}},
    }
    api = FakeAPI(sse(*RESPONSE_EVENTS, ("response.failed", failed)))
    with api.client(retry=NO_RETRY) as client:
        stream = client.responses.create(model="m", input="hi", stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    error = caught.value
    assert (error.status, error.code, error.message) == (504, "upstream_timeout", "slow")
    assert isinstance(error.error, GatewayTimeoutError)
    assert error.body == failed


def test_responses_error_event_raises_stream_error() -> None:
    """A Responses ``error`` event raises StreamError too."""
    data = {"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None}
    api = FakeAPI(sse(RESPONSE_EVENTS[0], ("error", data)))
    with api.client(retry=NO_RETRY) as client:
        stream = client.responses.create(model="m", input="hi", stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    assert isinstance(caught.value.error, RateLimitError)


def test_responses_stream_without_completed_is_truncated() -> None:
    """A Responses stream without its terminal event raises stream_truncated."""
    api = FakeAPI(sse(*RESPONSE_EVENTS))
    with api.client(retry=NO_RETRY) as client:
        stream = client.responses.create(model="m", input="hi", stream=True)
        with pytest.raises(StreamError) as caught:
            list(stream)
    assert caught.value.code == "stream_truncated"


# Async -----------------------------------------------------------------------------------


async def test_async_chat_stream() -> None:
    """The async client's stream is an async iterator with the request id up front."""
    api = FakeAPI(sse(chunk("a"), chunk("b"), "[DONE]", request_id="req_async"))
    async with api.async_client() as client:
        stream = await client.chat.completions.create(model="m", messages=HI, stream=True)
        assert stream.request_id == "req_async"
        async with stream:
            texts = [c["choices"][0]["delta"]["content"] async for c in stream]
    assert texts == ["a", "b"]


async def test_async_error_frame_raises_stream_error() -> None:
    """The async stream raises StreamError on the seed's error frame."""
    api = FakeAPI(sse(chunk("a"), SEED_FRAME, "[DONE]"))
    async with api.async_client(retry=NO_RETRY) as client:
        stream = await client.chat.completions.create(model="m", messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            async for _ in stream:
                pass
    assert isinstance(caught.value.error, ServiceUnavailableError)


async def test_async_cut_stream_is_truncated() -> None:
    """A reset connection under the async client raises stream_truncated."""
    api = FakeAPI(cut(sse_bytes(("message_start", {"type": "message_start"}))))
    async with api.async_client(retry=NO_RETRY) as client:
        stream = await client.messages.create(model="m", max_tokens=5, messages=HI, stream=True)
        with pytest.raises(StreamError) as caught:
            async for _ in stream:
                pass
    assert caught.value.code == "stream_truncated"


async def test_async_responses_stream_retried_before_first_event() -> None:
    """An async stream cut before its first event is retried."""
    done = ("response.completed", {"type": "response.completed", "response": {}})
    api = FakeAPI(cut(b""), sse(*RESPONSE_EVENTS, done))
    policy = RetryPolicy.for_tests()
    async with api.async_client(retry=policy) as client:
        stream = await client.responses.create(model="m", input="hi", stream=True)
        items = [item async for item in stream]
    assert len(items) == 3 and len(api.requests) == 2 and len(policy.delays) == 1


def test_a_stream_ends_at_its_terminal_event_whatever_follows() -> None:
    """Reading stops at ``[DONE]``: a connection that breaks (or stays open) after it
    cannot turn a finished answer into a failure."""
    api = FakeAPI(cut(sse_bytes(chunk("a"), "[DONE]")))
    with api.client(retry=NO_RETRY) as client:
        items = list(client.chat.completions.create(model="m", messages=HI, stream=True))
    assert len(items) == 1


async def test_an_async_stream_ends_at_its_terminal_event() -> None:
    """The async client stops at the terminal event too."""
    api = FakeAPI(cut(sse_bytes(("message_stop", {"type": "message_stop"}))))
    async with api.async_client(retry=NO_RETRY) as client:
        stream = await client.messages.create(model="m", max_tokens=5, messages=HI, stream=True)
        items = [item async for item in stream]
    assert [item["event"] for item in items] == ["message_stop"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"error": "Insufficient balance", "status": 402}, PaymentRequiredError),
        (
            {"id": "chatcmpl-1", "object": "chat.completion", "choices": []},
            APIResponseValidationError,
        ),
    ],
    ids=["error-as-200", "ignored-stream"],
)
def test_a_json_answer_to_a_streaming_request_is_not_a_truncation(
    body: dict[str, Any], expected: type[Exception]
) -> None:
    """A 200 JSON answer to ``stream=True`` raises the error it carries (or a validation
    error) at once, not a retryable truncation that would send the request again."""
    api = FakeAPI(httpx.Response(200, json=body))
    with api.client() as client:
        with pytest.raises(expected) as caught:
            client.chat.completions.create(model="m", messages=HI, stream=True)
    assert len(api.requests) == 1 and not caught.value.retryable  # type: ignore[attr-defined]
