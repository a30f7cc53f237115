"""An OpenAI-compatible HTTP upstream (vLLM, Ollama, OpenAI itself...).

Requests and answers are already in the gateway's dialect, so they pass through;
what this adds is the wire: one pooled keep-alive session (see
:mod:`~nanogate.providers._http`), the stream's ``[DONE]`` rule, and the upstream's
content filter reported as ``content_policy_violation``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from nanogate.config import ProviderSettings
from nanogate.providers._embeddings import read_embeddings
from nanogate.providers._http import UpstreamHTTP
from nanogate.providers._protocol import ChatCall, EmbeddingCall, EmbeddingResult, Provider
from nanogate.providers._upstream_errors import (
    FilterWatch,
    check_filtered,
    error_for_event,
    malformed_answer,
    stream_ended_early,
    upstream_errors,
)


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


class OpenAIProvider:
    """A :class:`~nanogate.providers.Provider` for an OpenAI-compatible HTTP server."""

    def __init__(self, settings: ProviderSettings, api_key: str | None) -> None:
        self.name = settings.name
        headers = {"content-type": "application/json", "accept": "application/json"}
        self._http = UpstreamHTTP(
            settings,
            headers,
            auth=_bearer,
            api_key=api_key,
            dialect="openai",
        )

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        """A whole completion from ``POST /chat/completions``."""
        body = call.body
        if body.get("stream"):
            body = {**body, "stream": False}
        with upstream_errors():
            completion = await self._http.post_json(
                "/chat/completions", body, call.request_id, call.credential
            )
        check_filtered(completion)
        return completion

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[list[dict[str, Any]]]:
        """The upstream's chunks in batches as they arrive, asking it for a final usage
        chunk; an error frame, a malformed chunk, a content filter before any output or
        an end without ``[DONE]`` raises the mapped error, after the chunks before it."""
        body = {**call.body, "stream": True, "stream_options": {"include_usage": True}}
        watch = FilterWatch()
        with upstream_errors():
            async with self._http.post_events(
                "/chat/completions", body, call.request_id, call.credential
            ) as events:
                async for batch in events:
                    chunks: list[dict[str, Any]] = []
                    done, failure = False, None
                    try:
                        for event in batch:
                            if event.data == "[DONE]":
                                done = True
                                break
                            chunks.append(self._chunk(event.data, watch, call))
                    except Exception as exc:  # the chunks before it are delivered first
                        failure = exc
                    if chunks:
                        yield chunks
                    if failure is not None:
                        raise failure
                    if done:
                        return
        raise stream_ended_early()

    def _chunk(self, data: str, watch: FilterWatch, call: ChatCall) -> dict[str, Any]:
        """One streamed chunk, or the error its event carries."""
        chunk = orjson.loads(data)
        if not isinstance(chunk, dict):
            raise malformed_answer()
        if chunk.get("error"):
            raise error_for_event(
                chunk, byok=call.credential is not None, secrets=self._http.secrets(call.credential)
            )
        watch.see(chunk)
        return chunk

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        """Float vectors from ``POST /embeddings``, in input order; an answer that does not
        fit the request (see :func:`~nanogate.providers._embeddings.read_embeddings`) raises
        a 503."""
        body = {**call.body, "encoding_format": "float"}
        with upstream_errors():
            data = await self._http.post_json("/embeddings", body, call.request_id, call.credential)
        return read_embeddings(data, call)

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._http.close()


if TYPE_CHECKING:  # mypy proves OpenAIProvider satisfies the Protocol
    _conforms: type[Provider] = OpenAIProvider
