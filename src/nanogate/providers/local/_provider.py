"""``LocalProvider``: the built-in offline models behind the ``Provider`` Protocol.

A thin async shell over the pure planners in ``_chat`` and ``_embed``: it
mints the completion id and timestamp, and paces the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from nanogate.core import new_id
from nanogate.providers._protocol import ChatCall, EmbeddingCall, EmbeddingResult, Provider
from nanogate.providers.local._chat import choice_count, chunks, completion, plan_reply
from nanogate.providers.local._embed import embed_text, embed_tokens

_BATCH = 16
"""Without a delay, hand the event loop back once per this many chunks."""


class LocalProvider:
    """Deterministic chat and embedding models that need no network."""

    def __init__(self, name: str, stream_delay_ms: float = 0.0) -> None:
        self.name = name
        self._delay = max(stream_delay_ms, 0.0) / 1000.0

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        """A whole ``chat.completion`` object."""
        reply = plan_reply(call.body, call.model.max_output_tokens, call.prompt_tokens)
        return completion(
            reply,
            completion_id=new_id("chatcmpl"),
            model=call.body["model"],
            created=int(time.time()),
            n=choice_count(call.body),
        )

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[list[dict[str, Any]]]:
        """``chat.completion.chunk`` objects, usage last: one per batch, paced by
        ``stream_delay_ms``, or without a delay in batches of up to 16 with the event loop
        given a turn between them."""
        reply = plan_reply(call.body, call.model.max_output_tokens, call.prompt_tokens)
        stream = chunks(
            reply,
            completion_id=new_id("chatcmpl"),
            model=call.body["model"],
            created=int(time.time()),
            n=choice_count(call.body),
        )
        if self._delay > 0:
            for sent, chunk in enumerate(stream):
                if sent > 0:
                    await asyncio.sleep(self._delay)
                yield [chunk]
            return
        batch: list[dict[str, Any]] = []
        for chunk in stream:
            batch.append(chunk)
            if len(batch) == _BATCH:
                yield batch
                batch = []
                await asyncio.sleep(0)
        if batch:
            yield batch

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        """One unit vector per input, with the exact prompt token count."""
        dimensions = call.dimensions or call.model.dimensions
        vectors = [
            embed_text(item, dimensions)
            if isinstance(item, str)
            else embed_tokens(item, dimensions)
            for item in call.inputs
        ]
        return EmbeddingResult(vectors=vectors, prompt_tokens=sum(call.input_tokens))

    async def close(self) -> None:
        """Nothing to release."""


if TYPE_CHECKING:  # mypy proves LocalProvider satisfies the Protocol
    _conforms: type[Provider] = LocalProvider
