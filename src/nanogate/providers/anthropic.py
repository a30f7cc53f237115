"""An Anthropic Messages HTTP upstream (the Anthropic API, or anything speaking it).

Chat requests are translated to ``POST {base_url}/messages`` and the answers back
(:mod:`~nanogate.providers._anthropic_request`, ``_anthropic_reply``,
``_anthropic_stream``); the wire is the one every HTTP provider shares
(:mod:`~nanogate.providers._http`): one pooled keep-alive session, failures mapped
through the upstream error table in Anthropic's dialect. Embeddings are not
offered; configuration refuses embedding models on this kind of provider.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from nanogate.config import ProviderSettings
from nanogate.errors import ModelNotAvailable
from nanogate.providers._anthropic_reply import chat_completion
from nanogate.providers._anthropic_request import messages_request
from nanogate.providers._anthropic_stream import AnthropicChunks
from nanogate.providers._http import UpstreamHTTP
from nanogate.providers._protocol import ChatCall, EmbeddingCall, EmbeddingResult, Provider
from nanogate.providers._upstream_errors import (
    FilterWatch,
    check_filtered,
    malformed_answer,
    stream_ended_early,
    upstream_errors,
)

ANTHROPIC_VERSION = "2023-06-01"
"""The ``anthropic-version`` header every request carries."""


def _api_key(key: str) -> dict[str, str]:
    return {"x-api-key": key}


class AnthropicProvider:
    """A :class:`~nanogate.providers.Provider` for an Anthropic Messages API."""

    def __init__(self, settings: ProviderSettings, api_key: str | None) -> None:
        self.name = settings.name
        headers = {
            "content-type": "application/json",
            "accept": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
        }
        self._http = UpstreamHTTP(
            settings,
            headers,
            auth=_api_key,
            api_key=api_key,
            dialect="anthropic",
        )

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        """A whole completion from ``POST /messages``."""
        body = messages_request(call.body, call.model.max_output_tokens, stream=False)
        with upstream_errors():
            message = await self._http.post_json(
                "/messages", body, call.request_id, call.credential
            )
            completion = chat_completion(message, created=int(time.time()))
        check_filtered(completion)
        return completion

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[list[dict[str, Any]]]:
        """Chat chunks decoded from the upstream's events, in batches as they arrive; an ``error``
        event, a malformed event, a refusal before any output or an end without
        ``message_stop`` raises the mapped error."""
        body = messages_request(call.body, call.model.max_output_tokens, stream=True)
        decoder = AnthropicChunks(
            created=int(time.time()),
            byok=call.credential is not None,
            secrets=self._http.secrets(call.credential),
        )
        watch = FilterWatch()
        with upstream_errors():
            async with self._http.post_events(
                "/messages", body, call.request_id, call.credential
            ) as events:
                async for batch in events:
                    chunks: list[dict[str, Any]] = []
                    failure = None
                    try:
                        for event in batch:
                            data = orjson.loads(event.data)
                            if not isinstance(data, dict):
                                raise malformed_answer()
                            for chunk in decoder.feed(data):
                                watch.see(chunk)
                                chunks.append(chunk)
                            if decoder.done:
                                break
                    except Exception as exc:  # the chunks before it are delivered first
                        failure = exc
                    if chunks:
                        yield chunks
                    if failure is not None:
                        raise failure
                    if decoder.done:
                        return
        raise stream_ended_early()

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        """Never reached for a valid configuration: Anthropic has no embeddings."""
        raise ModelNotAvailable(
            f"The model '{call.model.id}' is served by an Anthropic provider, "
            "which offers no embeddings."
        )

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._http.close()


if TYPE_CHECKING:  # mypy proves AnthropicProvider satisfies the Protocol
    _conforms: type[Provider] = AnthropicProvider
