"""An OpenAI-compatible HTTP upstream (vLLM, Ollama, OpenAI itself...).

One pooled keep-alive ``aiohttp`` session per provider, created on first use
inside the running event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from nanogate.config import ProviderSettings
from nanogate.core import SSEDecoder
from nanogate.errors import ServiceUnavailable
from nanogate.providers._protocol import ChatCall, EmbeddingCall, EmbeddingResult
from nanogate.providers._upstream_errors import error_for_status, upstream_errors


class OpenAIProvider:
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
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._settings.max_connections, ttl_dns_cache=300, keepalive_timeout=30
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers=self._headers,
                timeout=self._whole,
                json_serialize=lambda v: orjson.dumps(v).decode(),
                skip_auto_headers=("user-agent",),
            )
        return self._session

    async def _post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        with upstream_errors():
            async with self._client().post(self._base + path, data=orjson.dumps(body)) as response:
                payload = await response.read()
                if response.status >= 400:
                    raise error_for_status(response.status, payload, response.headers)
                data = orjson.loads(payload)
        if not isinstance(data, dict):
            raise ServiceUnavailable("The model provider sent an answer that is not a JSON object.")
        return data

    async def chat(self, call: ChatCall) -> dict[str, Any]:
        body = call.body
        if body.get("stream"):
            body = {**body, "stream": False}
        return await self._post_json("/chat/completions", body)

    async def chat_stream(self, call: ChatCall) -> AsyncIterator[dict[str, Any]]:
        body = {**call.body, "stream": True, "stream_options": {"include_usage": True}}
        decoder = SSEDecoder()
        with upstream_errors():
            async with self._client().post(
                self._base + "/chat/completions",
                data=orjson.dumps(body),
                timeout=self._idle,
            ) as response:
                if response.status >= 400:
                    raise error_for_status(response.status, await response.read(), response.headers)
                async for raw in response.content.iter_any():
                    for event in decoder.feed(raw):
                        if event.data == "[DONE]":
                            return
                        chunk = orjson.loads(event.data)
                        if isinstance(chunk, dict) and chunk.get("error"):
                            raise error_for_status(
                                int(chunk["error"].get("status") or 503), event.data.encode(), {}
                            )
                        yield chunk
        raise ServiceUnavailable("The model provider's stream ended before it finished.")

    async def embed(self, call: EmbeddingCall) -> EmbeddingResult:
        body = {**call.body, "encoding_format": "float"}
        data = await self._post_json("/embeddings", body)
        items = sorted(data.get("data") or [], key=lambda item: item.get("index", 0))
        usage = data.get("usage") or {}
        return EmbeddingResult(
            vectors=[item["embedding"] for item in items],
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
