"""Streams over real sockets: how each dialect ends when the provider fails.

Before the first byte a failure is an ordinary JSON error with its status.
After it, the stream ends with the dialect's terminal error event, never a
clean end; a provider that stops without finishing is such a failure; and a
client that disconnects cancels the provider's stream at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import assert_envelope, make_settings, with_provider

from nanogate.config import ProviderSettings
from nanogate.core import SSEDecoder
from nanogate.errors import GatewayError, ServiceUnavailable, UpstreamTimeout
from nanogate.providers import ChatCall, EmbeddingCall, EmbeddingResult


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl_scripted",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class ScriptedProvider:
    """Streams ``pieces`` then fails with ``failure``, or just stops when ``failure`` is None
    and ``finish`` is False. ``pause`` seconds pass between chunks."""

    name = "scripted"

    def __init__(self) -> None:
        self.pieces = ["Hello", " there", " friend"]
        self.failure: GatewayError | None = None
        self.finish = True
        self.fail_first = False
        self.pause = 0.0
        self.cancelled = threading.Event()

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        raise NotImplementedError

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[list[dict[str, Any]]]:
        if self.fail_first and self.failure is not None:
            raise self.failure
        try:
            yield [chunk({"role": "assistant", "content": ""})]
            for piece in self.pieces:
                await asyncio.sleep(self.pause)
                yield [chunk({"content": piece})]
            if self.failure is not None:
                raise self.failure
            if self.finish:
                yield [
                    chunk({}, "stop"),
                    {
                        **chunk({}),
                        "choices": [],
                        "usage": {"prompt_tokens": 3, "completion_tokens": 3},
                    },
                ]
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled.set()
            raise

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        raise NotImplementedError

    async def close(self) -> None:
        pass


@pytest.fixture
def scripted() -> ScriptedProvider:
    return ScriptedProvider()


@pytest.fixture
def stream_live(serve_gateway: LiveFactory, tmp_path: Any, scripted: ScriptedProvider) -> Live:
    settings = with_provider(
        make_settings(tmp_path),
        ProviderSettings(name="scripted", kind="local"),
        [{"id": "test/scripted", "provider": "scripted", "capabilities": ["streaming", "tools"]}],
    )
    return serve_gateway(settings, providers={"scripted": scripted})


CHAT = {"model": "test/scripted", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
MESSAGE = {**CHAT, "max_tokens": 50}
RESPONSE = {"model": "test/scripted", "stream": True, "input": "hi"}


def events(
    live: Live, path: str, body: dict[str, Any]
) -> tuple[httpx.Response, list[tuple[str, str]]]:
    decoder = SSEDecoder()
    with httpx.Client(base_url=live.url, timeout=10) as client:
        with client.stream("POST", path, json=body, headers=live.auth()) as response:
            raw = b"".join(response.iter_raw())
    decoded = [(e.event, e.data) for e in decoder.feed(raw)]
    return response, decoded


@pytest.mark.parametrize("failure", [ServiceUnavailable(), UpstreamTimeout()])
def test_chat_stream_failure_ends_with_the_seed_frame_then_done(
    stream_live: Live, scripted: ScriptedProvider, failure: GatewayError
) -> None:
    """A chat stream that fails mid-way ends with the seed's error frame
    (finish_reason "error", error {status, message, code}) and then [DONE]."""
    scripted.failure = failure
    response, decoded = events(stream_live, "/api/v1/chat/completions", CHAT)
    assert response.status_code == 200
    assert response.headers["x-request-id"].startswith("req_")
    assert decoded[-1] == ("", "[DONE]")
    frame = orjson.loads(decoded[-2][1])
    assert frame["object"] == "chat.completion.chunk"
    assert frame["choices"] == [{"index": 0, "delta": {}, "finish_reason": "error"}]
    assert frame["error"] == {
        "status": failure.status,
        "message": failure.message,
        "code": failure.code,
    }
    text = "".join(
        orjson.loads(data)["choices"][0]["delta"].get("content", "") for _, data in decoded[:-2]
    )
    assert text == "Hello there friend"


def test_a_stream_that_stops_without_finishing_is_an_error(
    stream_live: Live, scripted: ScriptedProvider
) -> None:
    """A provider stream that ends without a finish reason is reported as a failure in
    every dialect, never as a clean end."""
    scripted.finish = False
    _, chat = events(stream_live, "/api/v1/chat/completions", CHAT)
    assert orjson.loads(chat[-2][1])["error"]["code"] == "service_unavailable"
    _, messages = events(stream_live, "/api/v1/messages", MESSAGE)
    assert messages[-1][0] == "error"
    assert all(name != "message_stop" for name, _ in messages)
    _, responses = events(stream_live, "/api/v1/responses", RESPONSE)
    assert responses[-1][0] == "response.failed"
    assert all(name != "response.completed" for name, _ in responses)


def test_messages_stream_failure_ends_with_an_error_event(
    stream_live: Live, scripted: ScriptedProvider
) -> None:
    """A Messages stream that fails ends with `event: error` carrying the Anthropic
    error object; the response has the request-id header the SDK reads."""
    scripted.failure = ServiceUnavailable()
    response, decoded = events(stream_live, "/api/v1/messages", MESSAGE)
    assert response.headers["request-id"] == response.headers["x-request-id"]
    name, data = decoded[-1]
    assert name == "error"
    assert orjson.loads(data) == {
        "type": "error",
        "error": {
            "type": "api_error",
            "message": ServiceUnavailable.default_message,
            "code": "service_unavailable",
        },
    }


def test_responses_stream_failure_ends_with_response_failed(
    stream_live: Live, scripted: ScriptedProvider
) -> None:
    """A Responses stream that fails ends with `response.failed`: the response so far,
    status failed, and the error's code and message."""
    scripted.failure = UpstreamTimeout()
    _, decoded = events(stream_live, "/api/v1/responses", RESPONSE)
    name, data = decoded[-1]
    assert name == "response.failed"
    failed = orjson.loads(data)["response"]
    assert failed["status"] == "failed"
    assert failed["error"] == {
        "code": "upstream_timeout",
        "message": UpstreamTimeout.default_message,
    }
    sequence = [orjson.loads(d)["sequence_number"] for _, d in decoded]
    assert sequence == sorted(sequence)


def test_stock_sdks_raise_on_a_mid_stream_failure(
    stream_live: Live, scripted: ScriptedProvider
) -> None:
    """The openai SDK raises during iteration and the anthropic SDK raises on the error
    event: neither sees a clean end after a failure."""
    scripted.failure = ServiceUnavailable()
    with openai.OpenAI(
        base_url=stream_live.url + "/api/v1", api_key=stream_live.key, max_retries=0
    ) as oa:
        stream = oa.chat.completions.create(
            model="test/scripted", messages=[{"role": "user", "content": "hi"}], stream=True
        )
        with pytest.raises(openai.APIError) as caught:
            for _ in stream:
                pass
    assert caught.value.code == "service_unavailable"
    with anthropic.Anthropic(
        base_url=stream_live.url + "/api", api_key=stream_live.key, max_retries=0
    ) as an:
        with pytest.raises(anthropic.APIStatusError) as raised:
            with an.messages.stream(
                model="test/scripted", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
            ) as stream:
                for _ in stream:
                    pass
    assert raised.value.body["error"]["type"] == "api_error"


@pytest.mark.parametrize(
    ("path", "body", "surface"),
    [
        ("/api/v1/chat/completions", CHAT, "openai"),
        ("/api/v1/messages", MESSAGE, "anthropic"),
        ("/api/v1/responses", RESPONSE, "openai"),
    ],
)
def test_a_failure_before_the_first_byte_is_an_ordinary_error(
    stream_live: Live, scripted: ScriptedProvider, path: str, body: dict[str, Any], surface: str
) -> None:
    """When the provider fails before its first chunk, a streaming request gets a normal
    JSON error with the real status, not a 200 stream."""
    scripted.failure = ServiceUnavailable(retry_after=3)
    scripted.fail_first = True
    with httpx.Client(base_url=stream_live.url) as client:
        response = client.post(path, json=body, headers=stream_live.auth())
    assert_envelope(response, surface, "service_unavailable")
    assert response.headers["retry-after"] == "3"


def test_a_client_disconnect_cancels_the_provider_stream(
    stream_live: Live, scripted: ScriptedProvider
) -> None:
    """Closing the connection mid-stream cancels the provider's stream at once, even while
    the provider is silent between chunks."""
    scripted.pause = 30.0
    with httpx.Client(base_url=stream_live.url, timeout=10) as client:
        with client.stream(
            "POST", "/api/v1/chat/completions", json=CHAT, headers=stream_live.auth()
        ) as response:
            next(response.iter_raw())
    started = time.monotonic()
    assert scripted.cancelled.wait(5), "the provider stream was not cancelled"
    assert time.monotonic() - started < 2
