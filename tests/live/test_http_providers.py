"""The HTTP providers against the fake upstream on loopback, without the gateway.

The Anthropic provider's answers (plain and streamed, text and tool calls, usage)
and the exact catalogue error each injected fault becomes, for the Anthropic and
the OpenAI provider alike; the injectable session and its keep-alive pool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from nanogate.config import ModelSettings, ProviderSettings
from nanogate.errors import (
    ContentPolicyViolation,
    ContextLengthExceeded,
    GatewayError,
    RateLimitExceeded,
    ServiceUnavailable,
    UpstreamTimeout,
)
from nanogate.providers import ChatCall, EmbeddingCall, Provider
from nanogate.providers._wire import UpstreamConnectionError
from nanogate.providers.anthropic import AnthropicProvider
from nanogate.providers.openai import OpenAIProvider
from nanogate.routing import Model
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP, refused_url

SECRET = "sk-ant-api03-provider-secret-0123456789"
MODEL = Model.from_settings(
    ModelSettings(id="acme/claude", provider="up", upstream_model="claude-x", max_output_tokens=321)
)
HI = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]
WEATHER = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}]


@pytest.fixture
def fake() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream()
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


def provider_for(kind: str, url: str) -> AnthropicProvider | OpenAIProvider:
    settings = ProviderSettings(name="up", kind=kind, base_url=url + "/v1", timeout_s=0.5)
    cls = AnthropicProvider if kind == "anthropic" else OpenAIProvider
    return cls(settings, SECRET)


@pytest.fixture
async def claude(fake: tuple[FakeUpstream, str]) -> AsyncIterator[Provider]:
    provider = provider_for("anthropic", fake[1])
    yield provider
    await provider.close()


def call(**extra: Any) -> ChatCall:
    return ChatCall({"model": "claude-x", "messages": HI, **extra}, MODEL, "req_test", 3)


async def collect(provider: Provider, chat_call: ChatCall) -> list[dict[str, Any]]:
    return [chunk async for batch in provider.chat_stream(chat_call) for chunk in batch]


def streamed_text(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


# The Anthropic provider's answers ---------------------------------------------------------


async def test_a_plain_answer_and_the_request_that_produced_it(
    claude: Provider, fake: tuple[FakeUpstream, str]
) -> None:
    """chat() posts a Messages request (x-api-key, anthropic-version, the request id, the
    system prompt, max_tokens defaulting to the model's cap) and returns a chat
    completion whose usage counts cached prompt tokens."""
    completion = await claude.chat(call())
    assert completion["choices"] == [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hello from the upstream."},
            "finish_reason": "stop",
        }
    ]
    assert completion["usage"]["prompt_tokens"] == 10
    assert completion["usage"]["prompt_tokens_details"] == {"cached_tokens": 3}
    assert completion["usage"]["completion_tokens"] == 4
    sent = fake[0].requests[-1]
    assert sent["path"] == "/v1/messages"
    headers = {k.lower(): v for k, v in sent["headers"].items()}
    assert headers["x-api-key"] == SECRET and "authorization" not in headers
    assert headers["anthropic-version"] == "2023-06-01"
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "req_test"
    assert sent["body"] == {
        "model": "claude-x",
        "max_tokens": 321,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
    }


async def test_a_streamed_answer_arrives_as_chat_chunks(
    claude: Provider, fake: tuple[FakeUpstream, str]
) -> None:
    """chat_stream() asks for a stream and yields a role chunk, the text, a finish chunk
    and finally a usage chunk without choices."""
    chunks = await collect(claude, call(stream=True))
    assert fake[0].requests[-1]["body"]["stream"] is True
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert streamed_text(chunks) == "Hello from the upstream."
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 4,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 3},
    }


async def test_tool_calls_plain_and_streamed(
    claude: Provider, fake: tuple[FakeUpstream, str]
) -> None:
    """Offered a tool, the upstream calls it: plainly as one tool call with JSON
    arguments, streamed as an id-and-name chunk then argument fragments."""
    completion = await claude.chat(call(tools=WEATHER, tool_choice="auto"))
    assert fake[0].requests[-1]["body"]["tool_choice"] == {"type": "auto"}
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [
        {
            "id": "toolu_fake_0",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
        }
    ]
    chunks = await collect(claude, call(tools=WEATHER))
    calls = [
        d["tool_calls"][0]
        for c in chunks
        if c["choices"]
        for d in [c["choices"][0]["delta"]]
        if "tool_calls" in d
    ]
    assert calls[0] == {
        "index": 0,
        "type": "function",
        "id": "toolu_fake_0",
        "function": {"name": "weather", "arguments": ""},
    }
    assert "".join(c["function"]["arguments"] for c in calls) == '{"city":"Paris"}'
    assert all(c["index"] == 0 for c in calls)
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"


async def test_a_slow_drip_is_relayed_chunk_by_chunk(
    claude: Provider, fake: tuple[FakeUpstream, str]
) -> None:
    """Each batch is yielded as its events arrive, not when the stream ends."""
    fake[0].inject(Fault.drip(0.1))
    arrivals = []
    async for _ in claude.chat_stream(call()):
        arrivals.append(time.monotonic())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(arrivals) >= 5
    assert sum(gap >= 0.08 for gap in gaps) >= 4


async def test_embeddings_are_not_offered(claude: Provider) -> None:
    """embed() refuses with model_not_available (configuration never routes it here)."""
    with pytest.raises(ServiceUnavailable) as caught:
        await claude.embed(EmbeddingCall(["a"], [1], None, MODEL, "req_e", {"input": "a"}))
    assert caught.value.code == "model_not_available"


# Every fault, both providers ---------------------------------------------------------------

BEFORE = [
    (Fault.status_error(500), ServiceUnavailable, None),
    (Fault.status_error(503, retry_after=3), ServiceUnavailable, 3),
    (Fault.status_error(529), ServiceUnavailable, None),
    (Fault.status_error(429, retry_after=7), RateLimitExceeded, 7),
    (Fault.status_error(401), ServiceUnavailable, None),
    (Fault.delay(1.0), UpstreamTimeout, None),
    (Fault.reset(), ServiceUnavailable, None),
    (Fault.malformed(), ServiceUnavailable, None),
    (Fault.context_length(), ContextLengthExceeded, None),
    (Fault.content_filter(), ContentPolicyViolation, None),
    (Fault.refusal(), ContentPolicyViolation, None),
    (Fault.cut(after=3), ServiceUnavailable, None),
    (Fault.truncate(), ServiceUnavailable, None),
    (Fault.error_event(), ServiceUnavailable, None),
    (Fault.error_event(status=429), RateLimitExceeded, 1),
]
"""Faults that fail a whole answer (stream faults act on its body), and the error."""

MID_STREAM = [
    (Fault.cut(after=3), ServiceUnavailable, "could not be reached or failed"),
    (Fault.truncate(), ServiceUnavailable, "ended before the response was complete"),
    (Fault.error_event(after=3), ServiceUnavailable, None),
    (Fault.error_event(after=3, status=429), RateLimitExceeded, None),
    (Fault.oversized(after=3), ServiceUnavailable, "malformed"),
    (Fault.event(after=3, data=b"[1, 2]"), ServiceUnavailable, "malformed"),
    (Fault.event(after=3, data=b"{broken"), ServiceUnavailable, "malformed"),
    (Fault.drip(0.8), UpstreamTimeout, None),
    (Fault.refusal(), ContentPolicyViolation, None),
]
"""Faults that fail a stream after its first chunk, and the error raised there."""


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
@pytest.mark.parametrize(("fault", "error", "retry_after"), BEFORE)
async def test_each_fault_of_a_whole_answer(
    fake: tuple[FakeUpstream, str],
    kind: str,
    fault: Fault,
    error: type[GatewayError],
    retry_after: int | None,
) -> None:
    """Each fault of a non-streamed answer raises exactly its catalogue error."""
    upstream, url = fake
    upstream.inject(fault)
    provider = provider_for(kind, url)
    try:
        with pytest.raises(GatewayError) as caught:
            await provider.chat(call())
    finally:
        await provider.close()
    assert type(caught.value) is error
    assert caught.value.retry_after == retry_after


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
@pytest.mark.parametrize(
    ("fault", "error", "retry_after"),
    [row for row in BEFORE if row[0].kind in ("status", "delay", "reset", "malformed")],
)
async def test_each_fault_before_a_streams_first_chunk(
    fake: tuple[FakeUpstream, str],
    kind: str,
    fault: Fault,
    error: type[GatewayError],
    retry_after: int | None,
) -> None:
    """A fault before the first event raises its error before any chunk is yielded."""
    upstream, url = fake
    upstream.inject(fault)
    provider = provider_for(kind, url)
    chunks: list[dict[str, Any]] = []
    try:
        with pytest.raises(GatewayError) as caught:
            async for batch in provider.chat_stream(call()):
                chunks.extend(batch)
    finally:
        await provider.close()
    assert chunks == []
    assert type(caught.value) is error and caught.value.retry_after == retry_after


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
@pytest.mark.parametrize(("fault", "error", "words"), MID_STREAM)
async def test_each_fault_in_the_middle_of_a_stream(
    fake: tuple[FakeUpstream, str],
    kind: str,
    fault: Fault,
    error: type[GatewayError],
    words: str | None,
) -> None:
    """A fault after the first chunk raises its error after the chunks before it, never
    a clean end."""
    upstream, url = fake
    upstream.inject(fault)
    provider = provider_for(kind, url)
    chunks: list[dict[str, Any]] = []
    try:
        with pytest.raises(GatewayError) as caught:
            async for batch in provider.chat_stream(call()):
                chunks.extend(batch)
    finally:
        await provider.close()
    assert type(caught.value) is error
    assert chunks and chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert not any(c.get("usage") for c in chunks[:-1])
    if words is not None:
        assert words in caught.value.message


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_an_empty_answer_is_returned_for_the_gateway_to_judge(
    fake: tuple[FakeUpstream, str], kind: str
) -> None:
    """An empty 200 is not an upstream error: the provider returns it (the gateway turns
    it into empty_response), plain and streamed."""
    upstream, url = fake
    upstream.inject(Fault.empty(), Fault.empty())
    provider = provider_for(kind, url)
    try:
        completion = await provider.chat(call())
        chunks = await collect(provider, call())
    finally:
        await provider.close()
    assert not completion["choices"][0]["message"]["content"]
    assert completion["choices"][0]["finish_reason"] == "stop"
    assert streamed_text(chunks) == ""
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_a_refused_connection_is_service_unavailable(kind: str) -> None:
    """Nothing listening at the base URL → 503 service_unavailable, plain and streamed."""
    with refused_url() as url:
        provider = provider_for(kind, url)
        try:
            with pytest.raises(ServiceUnavailable) as plain:
                await provider.chat(call())
            with pytest.raises(ServiceUnavailable) as streamed:
                await collect(provider, call())
        finally:
            await provider.close()
    for caught in (plain, streamed):
        assert type(caught.value) is ServiceUnavailable
        assert isinstance(caught.value.__cause__, UpstreamConnectionError)
        assert isinstance(caught.value.__cause__.__cause__, ConnectionRefusedError)


# The wire: injected sessions, pooling, secrets ------------------------------------------


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_sequential_requests_share_one_keep_alive_connection(
    fake: tuple[FakeUpstream, str], kind: str
) -> None:
    """The provider's pool opens its connection on first use; sequential requests, plain
    and streamed, reuse it, and closing the provider closes it."""
    provider = provider_for(kind, fake[1])
    pool = provider._http.pool
    assert pool.opened == 0
    try:
        await provider.chat(call())
        await collect(provider, call())
        await provider.chat(call())
    finally:
        await provider.close()
    assert pool.opened == 1


@pytest.mark.parametrize("kind", ["anthropic", "openai"])
async def test_credentials_never_reach_the_logs(
    fake: tuple[FakeUpstream, str], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With every logger at DEBUG, neither a refused credential nor a failed stream logs
    the upstream key, even when the upstream echoes it in its message."""
    caplog.set_level(logging.DEBUG)
    upstream, url = fake
    upstream.inject(
        Fault.status_error(401, message=f"invalid x-api-key {SECRET}"),
        Fault.status_error(400, message=f"bad key {SECRET}"),
        Fault.cut(after=2),
    )
    provider = provider_for(kind, url)
    try:
        for attempt in (provider.chat(call()), provider.chat(call()), collect(provider, call())):
            with pytest.raises(GatewayError) as caught:
                await attempt
            assert SECRET not in caught.value.message
    finally:
        await provider.close()
    assert caplog.records
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("kind", "header", "value"),
    [
        ("anthropic", "x-api-key", "sk-caller-own"),
        ("openai", "authorization", "Bearer sk-caller-own"),
    ],
)
async def test_a_callers_own_credential_replaces_the_operators(
    fake: tuple[FakeUpstream, str], kind: str, header: str, value: str
) -> None:
    """BYOK: a call carrying the caller's credential sends it instead of the operator's,
    and an upstream refusing it is 401 invalid_api_key naming "your API key"."""
    upstream, url = fake
    provider = provider_for(kind, url)
    own = ChatCall({"model": "m", "messages": HI}, MODEL, "req_byok", 3, credential="sk-caller-own")
    try:
        await provider.chat(own)
        headers = {k.lower(): v for k, v in upstream.requests[-1]["headers"].items()}
        assert headers[header] == value and SECRET not in str(headers)
        upstream.inject(Fault.status_error(401), Fault.status_error(403))
        for attempt in (provider.chat(own), collect(provider, own)):
            with pytest.raises(GatewayError) as caught:
                await attempt
            assert caught.value.code == "invalid_api_key" and caught.value.status == 401
            assert "your API key" in caught.value.message
        upstream.inject(Fault.status_error(401))
        with pytest.raises(ServiceUnavailable):
            await provider.chat(call())
    finally:
        await provider.close()
