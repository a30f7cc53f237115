"""LocalProvider: the async Provider shell around the local chat and embedding models."""

from __future__ import annotations

import asyncio
import re
import time
from decimal import Decimal
from typing import Any

import pytest

import nanogate.providers.local
from nanogate.core import count_chat_tokens, count_tokens
from nanogate.providers import ChatCall, EmbeddingCall, Provider
from nanogate.providers.local import LocalProvider
from nanogate.providers.local._embed import embed_text, embed_tokens
from nanogate.routing import Model


def model(max_output_tokens: int = 256, dimensions: int = 32) -> Model:
    """A catalogue entry for a local model."""
    return Model(
        id="local-chat",
        type="chat",
        provider="local",
        upstream_model="local-chat",
        name="Local chat",
        description="",
        owned_by="nanogate",
        input_usd_per_mtok=Decimal(0),
        output_usd_per_mtok=Decimal(0),
        context_window=8192,
        max_output_tokens=max_output_tokens,
        dimensions=dimensions,
        capabilities=frozenset(),
        fallbacks=(),
    )


def chat_call(text: str = "hello", **extra: Any) -> ChatCall:
    body = {"model": "upstream-local", "messages": [{"role": "user", "content": text}], **extra}
    return ChatCall(
        body=body,
        model=model(),
        request_id="req_1",
        prompt_tokens=count_chat_tokens(body["messages"]),
    )


def embedding_call(inputs: Any, dimensions: int | None = None) -> EmbeddingCall:
    return EmbeddingCall(
        inputs=inputs,
        input_tokens=[count_tokens(i) if isinstance(i, str) else len(i) for i in inputs],
        dimensions=dimensions,
        model=model(dimensions=24),
        request_id="req_1",
        body={"model": "upstream-local", "input": inputs},
    )


async def collect(provider: LocalProvider, call: ChatCall) -> list[dict[str, Any]]:
    return [chunk async for batch in provider.chat_stream(call) for chunk in batch]


def test_exports() -> None:
    """The package exports exactly LocalProvider."""
    assert nanogate.providers.local.__all__ == ["LocalProvider"]


def test_is_a_provider() -> None:
    """LocalProvider satisfies the Provider Protocol and keeps its name."""
    provider: Provider = LocalProvider("local")
    assert provider.name == "local"


async def test_chat_returns_completion() -> None:
    """chat() answers with a fresh chatcmpl_ id, the body's model and the current time."""
    provider = LocalProvider("local")
    before = int(time.time())
    result = await provider.chat(chat_call("hi"))
    assert re.fullmatch(r"chatcmpl_[0-9a-f]{24}", result["id"])
    assert result["object"] == "chat.completion"
    assert result["model"] == "upstream-local"
    assert before <= result["created"] <= int(time.time())
    assert result["choices"][0]["message"]["content"] == "You said: hi"
    again = await provider.chat(chat_call("hi"))
    assert again["id"] != result["id"]
    assert again["choices"] == result["choices"]


async def test_chat_uses_model_output_limit() -> None:
    """Without max_tokens the catalogue's max_output_tokens bounds the reply."""
    body = chat_call("a b c d e f").body
    call = ChatCall(
        body=body, model=model(2), request_id="r", prompt_tokens=count_chat_tokens(body["messages"])
    )
    result = await LocalProvider("local").chat(call)
    assert result["choices"][0]["finish_reason"] == "length"
    assert result["usage"]["completion_tokens"] == 2


async def test_chat_honours_n() -> None:
    """chat() renders n choices."""
    result = await LocalProvider("local").chat(chat_call("hi", n=2))
    assert [choice["index"] for choice in result["choices"]] == [0, 1]


async def test_stream_matches_chat() -> None:
    """The stream's content joins to chat()'s content and its usage chunk comes last."""
    provider = LocalProvider("local")
    call = chat_call("Streaming and non-streaming replies agree.", max_tokens=6)
    whole = await provider.chat(call)
    items = await collect(provider, call)
    assert len({item["id"] for item in items}) == 1
    assert re.fullmatch(r"chatcmpl_[0-9a-f]{24}", items[0]["id"])
    assert all(item["model"] == "upstream-local" for item in items)
    content = [c["choices"][0]["delta"].get("content") for c in items[:-1]]
    tokens = [piece for piece in content if piece]
    assert "".join(tokens) == whole["choices"][0]["message"]["content"]
    assert items[-1]["choices"] == []
    assert items[-1]["usage"] == whole["usage"]
    assert len(tokens) == items[-1]["usage"]["completion_tokens"]


async def test_stream_delay_paces_chunks() -> None:
    """stream_delay_ms sleeps between chunks, so a stream takes at least (chunks - 1) delays."""
    provider = LocalProvider("local", stream_delay_ms=5)
    started = time.monotonic()
    items = await collect(provider, chat_call("one two three"))
    assert time.monotonic() - started >= (len(items) - 1) * 0.005 * 0.9


async def test_stream_without_delay_yields_to_the_loop() -> None:
    """A long undelayed stream still lets other tasks run before it ends."""
    ran = asyncio.Event()

    async def other() -> None:
        ran.set()

    provider = LocalProvider("local")
    task = asyncio.create_task(other())
    seen_before_end = False
    async for batch in provider.chat_stream(chat_call("word " * 60)):
        if any(not chunk["choices"] for chunk in batch):
            seen_before_end = ran.is_set()
    await task
    assert seen_before_end


async def test_embed_strings() -> None:
    """String inputs embed with the call's dimensions and count tokens exactly."""
    inputs = ["first text", "second, longer text!"]
    result = await LocalProvider("local").embed(embedding_call(inputs, dimensions=12))
    assert result.vectors == [embed_text(text, 12) for text in inputs]
    assert result.prompt_tokens == sum(count_tokens(text) for text in inputs)


async def test_embed_defaults_to_model_dimensions() -> None:
    """Without requested dimensions the model's dimensions are used."""
    result = await LocalProvider("local").embed(embedding_call(["x"]))
    assert len(result.vectors[0]) == 24


async def test_embed_token_ids() -> None:
    """Token-id inputs embed by id and count one prompt token per id."""
    inputs = [[1, 2, 3], [42]]
    result = await LocalProvider("local").embed(embedding_call(inputs))
    assert result.vectors == [embed_tokens(ids, 24) for ids in inputs]
    assert result.prompt_tokens == 4


async def test_close_is_harmless() -> None:
    """close() releases nothing and can be called twice."""
    provider = LocalProvider("local")
    await provider.close()
    await provider.close()


@pytest.mark.parametrize("delay", [-5.0, 0.0])
async def test_non_positive_delay_does_not_sleep(delay: float) -> None:
    """A zero or negative delay streams without pacing."""
    provider = LocalProvider("local", stream_delay_ms=delay)
    started = time.monotonic()
    await collect(provider, chat_call("word " * 50))
    assert time.monotonic() - started < 1.0
