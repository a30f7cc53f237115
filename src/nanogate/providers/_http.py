"""What every HTTP upstream shares: one pooled session, and POSTs whose failures map
through the upstream error table.

The session is made on first use inside the running event loop, by a factory the
provider is given (tests inject their own) or, by default, around a keep-alive
connection pool sized by the provider's ``max_connections``. Headers and timeouts
travel with each request, so an injected session needs no configuration.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import Any

import aiohttp
import orjson
from aiohttp.client import _RequestContextManager

from nanogate.config import ProviderSettings
from nanogate.core import Secrets, SSEDecoder, SSEEvent, url_secrets
from nanogate.errors import GatewayError
from nanogate.providers._upstream_errors import Dialect, error_for_status, malformed_answer

SessionFactory = Callable[[], aiohttp.ClientSession]
"""Makes the provider's session; called inside the running loop, again if it was closed."""


def pooled_session(max_connections: int) -> SessionFactory:
    """The default factory: a keep-alive pool of up to ``max_connections`` connections."""

    def make() -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=max_connections, ttl_dns_cache=300, keepalive_timeout=30
        )
        return aiohttp.ClientSession(connector=connector, skip_auto_headers=("user-agent",))

    return make


Auth = Callable[[str], dict[str, str]]
"""The headers carrying a credential (``authorization: Bearer ...``, ``x-api-key``...)."""


class UpstreamHTTP:
    """One upstream's base URL, headers, credential, timeouts and pooled session.

    Requests carry ``headers`` and the operator's ``api_key`` (as ``auth`` renders it),
    or, with BYOK, the caller's own credential instead; their failures then map as the
    caller's ("your API key"). Credentials are never logged, and an upstream's text that
    echoes the one a request carried is masked (see :meth:`secrets`). A whole answer
    must arrive within ``timeout_s``; a stream may take as long as it likes but never
    more than ``timeout_s`` between two reads.
    """

    def __init__(
        self,
        settings: ProviderSettings,
        headers: Mapping[str, str],
        *,
        auth: Auth,
        api_key: str | None,
        dialect: Dialect,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self.dialect: Dialect = dialect
        self._base = settings.base_url.rstrip("/")
        self._plain = dict(headers)
        self._auth = auth
        self._headers = {**headers, **auth(api_key)} if api_key else dict(headers)
        self._secrets = Secrets([api_key, *url_secrets(settings.base_url)])
        self._make = session_factory or pooled_session(settings.max_connections)
        self._session: aiohttp.ClientSession | None = None
        self._whole = aiohttp.ClientTimeout(
            total=settings.timeout_s, sock_connect=settings.connect_timeout_s
        )
        self._idle = aiohttp.ClientTimeout(
            sock_connect=settings.connect_timeout_s, sock_read=settings.timeout_s
        )

    def secrets(self, credential: str | None = None) -> Secrets:
        """What a request sent with ``credential`` (the caller's own, with BYOK; else the
        operator's) carries that its answer must not repeat."""
        return self._secrets if credential is None else self._secrets | Secrets([credential])

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = self._make()
        return self._session

    def _request(
        self,
        path: str,
        body: dict[str, Any],
        request_id: str,
        timeout: aiohttp.ClientTimeout,
        credential: str | None,
    ) -> _RequestContextManager:
        headers = self._headers if credential is None else {**self._plain, **self._auth(credential)}
        return self._client().post(
            self._base + path,
            data=orjson.dumps(body),
            headers={**headers, "x-request-id": request_id},
            timeout=timeout,
        )

    def _failure(
        self, response: aiohttp.ClientResponse, payload: bytes, credential: str | None
    ) -> GatewayError:
        return error_for_status(
            response.status,
            payload,
            response.headers,
            dialect=self.dialect,
            byok=credential is not None,
            secrets=self.secrets(credential),
        )

    async def post_json(
        self, path: str, body: dict[str, Any], request_id: str, credential: str | None = None
    ) -> dict[str, Any]:
        """POST ``body`` and return the JSON object answered, or raise the mapped error.

        Transport failures propagate as they are: call inside
        :func:`~nanogate.providers._upstream_errors.upstream_errors`.
        """
        async with self._request(path, body, request_id, self._whole, credential) as response:
            payload = await response.read()
            if response.status >= 400:
                raise self._failure(response, payload, credential)
        data = orjson.loads(payload)
        if not isinstance(data, dict):
            raise malformed_answer()
        return data

    @asynccontextmanager
    async def post_events(
        self, path: str, body: dict[str, Any], request_id: str, credential: str | None = None
    ) -> AsyncIterator[AsyncIterator[SSEEvent]]:
        """POST ``body`` and yield the answer's SSE events as they arrive; an error
        status raises the mapped error before any event. A consumer may leave the block
        early (at a stream's terminal event, or on failure); the connection then goes back
        to the pool if the stream had ended, and is closed otherwise."""
        async with self._request(path, body, request_id, self._idle, credential) as response:
            if response.status >= 400:
                raise self._failure(response, await response.read(), credential)
            yield _Events(response.content)
            await _drain(response.content)

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()


_DRAIN_BYTES = 64 * 1024
_DRAIN_WAIT_S = 0.05
"""How long the end of a body may take to follow a stream's terminal event. An upstream
that holds its connection open longer loses it: the client's answer does not wait."""


async def _drain(content: aiohttp.StreamReader) -> None:
    """Read what follows a stream's terminal event (normally just the end of the body),
    so that the connection can be reused; a failure here no longer matters."""
    left = _DRAIN_BYTES
    with suppress(aiohttp.ClientError, OSError):  # OSError includes TimeoutError
        async with asyncio.timeout(_DRAIN_WAIT_S):
            while left > 0 and not content.at_eof():
                data = await content.readany()
                if not data:
                    return
                left -= len(data)


class _Events:
    """The SSE events of a response body, decoded as bytes arrive. An oversized line
    raises :class:`ValueError` (see :class:`~nanogate.core.SSEDecoder`)."""

    __slots__ = ("_chunks", "_decoder", "_pending")

    def __init__(self, content: aiohttp.StreamReader) -> None:
        self._chunks = content.iter_any()
        self._decoder = SSEDecoder()
        self._pending: deque[SSEEvent] = deque()

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> SSEEvent:
        while not self._pending:
            raw = await self._chunks.__anext__()  # StopAsyncIteration ends the events
            self._pending.extend(self._decoder.feed(raw))
        return self._pending.popleft()
