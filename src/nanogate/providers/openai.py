"""An OpenAI-compatible HTTP upstream (vLLM, Ollama, OpenAI itself...).

One pooled keep-alive ``aiohttp`` session per provider, created on first use
inside the running event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from nanogate.config import ProviderSettings
from nanogate.core import SSEDecoder
from nanogate.providers._protocol import ChatCall, EmbeddingCall, EmbeddingResult, Provider
from nanogate.providers._upstream_errors import (
    error_for_event,
    error_for_status,
    malformed_answer,
    stream_ended_early,
    upstream_errors,
)


class OpenAIProvider:
    """A :class:`~nanogate.providers.Provider` for an OpenAI-compatible HTTP server."""

    def __init__(self, settings: ProviderSettings, api_key: str | None) -> None:
        self.name = settings.name
        self._base = settings.base_url.rstrip("/")
        self._settings = settings
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._session: aiohttp.ClientSession | None = None
        self._whole = aiohttp.ClientTimeout(
            total=settings.timeout_s, sock_connect=settings.connect_timeout_s
        )
        self._idle = aiohttp.ClientTimeout(
            sock_connect=settings.connect_timeout_s, sock_read=settings.timeout_s
        )

    def _client(self) -> aiohttp.ClientSession:
        """The pooled session, made on first use inside the running loop."""
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._settings.max_connections, ttl_dns_cache=300, keepalive_timeout=30
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=self._whole,
                skip_auto_headers=("user-agent",),
            )
        return self._session

    async def _post_json(self, path: str, body: dict[str, Any], request_id: str) -> dict[str, Any]:
        """POST ``body`` and return the JSON object answered, or raise the mapped error."""
        with upstream_errors():
            async with self._client().post(
                self._base + path, data=orjson.dumps(body), headers={"x-request-id": request_id}
            ) as response:
                payload = await response.read()
                if response.status >= 400:
                    raise error_for_status(response.status, payload, response.headers)
                data = orjson.loads(payload)
        if not isinstance(data, dict):
            raise malformed_answer()
        return data

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        """A whole completion from ``POST /chat/completions``."""
        body = call.body
        if body.get("stream"):
            body = {**body, "stream": False}
        return await self._post_json("/chat/completions", body, call.request_id)

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[dict[str, Any]]:
        """The upstream's chunks, asking it for a final usage chunk; an error frame, a
        malformed chunk or an end without ``[DONE]`` raises the mapped error."""
        body = {**call.body, "stream": True, "stream_options": {"include_usage": True}}
        decoder = SSEDecoder()
        with upstream_errors():
            async with self._client().post(
                self._base + "/chat/completions",
                data=orjson.dumps(body),
                headers={"x-request-id": call.request_id},
                timeout=self._idle,
            ) as response:
                if response.status >= 400:
                    raise error_for_status(response.status, await response.read(), response.headers)
                async for raw in response.content.iter_any():
                    for event in decoder.feed(raw):
                        if event.data == "[DONE]":
                            return
                        chunk = orjson.loads(event.data)
                        if not isinstance(chunk, dict):
                            raise malformed_answer()
                        if chunk.get("error"):
                            raise error_for_event(chunk)
                        yield chunk
        raise stream_ended_early()

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        """Float vectors from ``POST /embeddings``, in input order."""
        body = {**call.body, "encoding_format": "float"}
        data = await self._post_json("/embeddings", body, call.request_id)
        items = sorted(data.get("data") or [], key=lambda item: item.get("index", 0))
        usage = data.get("usage") or {}
        return EmbeddingResult(
            vectors=[item["embedding"] for item in items],
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
        )

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()


if TYPE_CHECKING:  # mypy proves OpenAIProvider satisfies the Protocol
    _conforms: type[Provider] = OpenAIProvider
