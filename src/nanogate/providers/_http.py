"""What every HTTP upstream shares: one keep-alive connection pool (see
:mod:`nanogate.providers._wire`), and POSTs whose failures map through the upstream
error table.

The pool is made on first use inside the running event loop, sized by the provider's
``max_connections``. :func:`pooled_session` makes the aiohttp sessions of the gateway's
other HTTP clients (moderation, payment rails), which are off the request path.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

import orjson

from nanogate._deadline import Deadline
from nanogate.config import ProviderSettings
from nanogate.core import Secrets, SSEDecoder, SSEEvent, url_secrets
from nanogate.errors import GatewayError
from nanogate.providers._upstream_errors import Dialect, error_for_status, malformed_answer
from nanogate.providers._wire import Pool, Response

if TYPE_CHECKING:
    import aiohttp

SessionFactory = Callable[[], "aiohttp.ClientSession"]
"""Makes the provider's session; called inside the running loop, again if it was closed."""


def pooled_session(max_connections: int) -> SessionFactory:
    """The default factory: a keep-alive pool of up to ``max_connections`` connections."""

    def make() -> aiohttp.ClientSession:
        import aiohttp  # loaded by the clients that use it, not at start-up

        connector = aiohttp.TCPConnector(
            limit=max_connections, ttl_dns_cache=300, keepalive_timeout=30
        )
        return aiohttp.ClientSession(connector=connector, skip_auto_headers=("user-agent",))

    return make


Auth = Callable[[str], dict[str, str]]
"""The headers carrying a credential (``authorization: Bearer ...``, ``x-api-key``...)."""


class UpstreamHTTP:
    """One upstream's base URL, headers, credential, timeouts and connection pool.

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
    ) -> None:
        self.dialect: Dialect = dialect
        self._url = settings.base_url.rstrip("/")
        self._plain = dict(headers)
        self._auth = auth
        self._headers = {**headers, **auth(api_key)} if api_key else dict(headers)
        self._secrets = Secrets([api_key, *url_secrets(settings.base_url)])
        self._limit = settings.max_connections
        self._connect_s = settings.connect_timeout_s
        self._timeout_s = settings.timeout_s
        self._pool: Pool | None = None

    @property
    def pool(self) -> Pool:
        """The keep-alive connections, made on first use inside the running loop."""
        if self._pool is None:
            self._pool = Pool(self._url, self._limit, self._connect_s)
        return self._pool

    def secrets(self, credential: str | None = None) -> Secrets:
        """What a request sent with ``credential`` (the caller's own, with BYOK; else the
        operator's) carries that its answer must not repeat."""
        return self._secrets if credential is None else self._secrets | Secrets([credential])

    def _send(
        self,
        path: str,
        body: dict[str, Any],
        request_id: str,
        credential: str | None,
        idle_s: float | None,
    ) -> Awaitable[Response]:
        headers = self._headers if credential is None else {**self._plain, **self._auth(credential)}
        return self.pool.post(
            path, {**headers, "x-request-id": request_id}, orjson.dumps(body), idle_s=idle_s
        )

    def _failure(self, response: Response, payload: bytes, credential: str | None) -> GatewayError:
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
        with Deadline(self._timeout_s):
            response = await self._send(path, body, request_id, credential, None)
            try:
                payload = await response.read()
            finally:
                response.release()
        if response.status >= 400:
            raise self._failure(response, payload, credential)
        data = orjson.loads(payload)
        if not isinstance(data, dict):
            raise malformed_answer()
        return data

    @asynccontextmanager
    async def post_events(
        self, path: str, body: dict[str, Any], request_id: str, credential: str | None = None
    ) -> AsyncIterator[AsyncIterator[list[SSEEvent]]]:
        """POST ``body`` and yield the answer's SSE events in batches as they arrive
        (see :class:`_Events`); an error
        status raises the mapped error before any event. A consumer may leave the block
        early (at a stream's terminal event, or on failure); the connection then goes back
        to the pool if the stream had ended, and is closed otherwise."""
        response = await self._send(path, body, request_id, credential, self._timeout_s)
        try:
            if response.status >= 400:
                async with asyncio.timeout(self._timeout_s):
                    payload = await response.read()
                raise self._failure(response, payload, credential)
            yield _Events(response)
            await _drain(response)
        finally:
            response.release()

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._pool is not None:
            await self._pool.close()


_DRAIN_BYTES = 64 * 1024
_DRAIN_WAIT_S = 0.05
"""How long the end of a body may take to follow a stream's terminal event. An upstream
that holds its connection open longer loses it: the client's answer does not wait."""


async def _drain(response: Response) -> None:
    """Read what follows a stream's terminal event (normally just the end of the body),
    so that the connection can be reused; a failure here no longer matters."""
    left = _DRAIN_BYTES
    with suppress(OSError):  # connection errors and timeouts alike
        async with asyncio.timeout(_DRAIN_WAIT_S):
            while left > 0:
                data = await response.chunk()
                if data is None:
                    return
                left -= len(data)


class _Events:
    """The SSE events of a response body in batches: each batch holds the events that
    one read of the body completed, so a consumer handles together what arrived
    together. A batch is never empty. An oversized line raises :class:`ValueError`
    (see :class:`~nanogate.core.SSEDecoder`)."""

    __slots__ = ("_chunks", "_decoder")

    def __init__(self, response: Response) -> None:
        self._chunks = response.iter_chunks()
        self._decoder = SSEDecoder()

    def __aiter__(self) -> _Events:
        return self

    async def __anext__(self) -> list[SSEEvent]:
        while True:
            raw = await self._chunks.__anext__()  # StopAsyncIteration ends the events
            if batch := self._decoder.feed(raw):
                return batch
