"""A keep-alive HTTP/1.1 client for upstreams: asyncio protocols parsed by httptools.

The gateway sends one kind of request upstream, a POST of a JSON body, and reads
either the whole answer or its body as it streams. This client does exactly that
over pooled keep-alive connections (plain TCP or TLS), with the parsing done by
``httptools`` (llhttp, the parser of Node.js and of uvicorn). Measured against the
same fake upstream, one request and its answer cost 35 µs of CPU here against
aiohttp's 125 µs, which made aiohttp the largest single cost of a gateway request.

Failures are the exceptions :func:`~nanogate.providers._upstream_errors.upstream_errors`
maps: :class:`UpstreamConnectionError` (a :class:`ConnectionError`: refused, reset,
closed early, a malformed answer) and :class:`TimeoutError`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import cast
from urllib.parse import urlsplit

import httptools
from multidict import CIMultiDict, CIMultiDictProxy

MAX_HEAD_BYTES = 64 * 1024
"""An answer whose status line and headers are longer is malformed."""
MAX_BODY_BYTES = 64 * 1024 * 1024
"""A whole (not streamed) answer may be this long at most."""
IDLE_REUSE_S = 4.0
"""A pooled connection idle for longer is closed rather than reused: upstreams close
idle connections (uvicorn after 5 s, many others later), and a request written into one
that the upstream is closing fails. A POST is never sent twice, so it is not retried."""
_HIGH_WATER = 256 * 1024
"""A streamed body buffered beyond this stops reading from the socket until consumed."""


class UpstreamConnectionError(ConnectionError):
    """The upstream could not be reached, closed the connection early, or sent a
    malformed answer."""


@cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


@dataclass(frozen=True, slots=True)
class Origin:
    """Where requests go: scheme, host and port of a base URL, and its path prefix."""

    tls: bool
    host: str
    port: int
    prefix: str

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        tls = parts.scheme == "https"
        port = parts.port or (443 if tls else 80)
        return cls(tls, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def authority(self) -> str:
        default = 443 if self.tls else 80
        return self.host if self.port == default else f"{self.host}:{self.port}"


def _check(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise UpstreamConnectionError("a request header contains a line break")
    return value


def request_bytes(origin: Origin, path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    """The whole request on the wire: ``POST`` of ``body`` with ``headers``."""
    lines = [
        f"POST {origin.prefix}{path} HTTP/1.1",
        f"host: {origin.authority}",
        f"content-length: {len(body)}",
        "accept-encoding: identity",
    ]
    lines += [f"{_check(name)}: {_check(value)}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _time_out(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("the upstream sent nothing for too long"))


class _Connection(asyncio.Protocol):
    """One keep-alive connection; one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._reset()

    def _reset(self) -> None:
        self._head_bytes = 0
        self._headers: CIMultiDict[str] = CIMultiDict()
        self._head: asyncio.Future[None] | None = None
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._wake: asyncio.Future[None] | None = None
        self._complete = False
        self._keep_alive = False
        self._paused = False
        self._error: BaseException | None = None
        self._delimited = False
        """Whether the answer says where its body ends (a length, chunks); one that does
        not ends when the upstream closes the connection."""

    # asyncio protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamConnectionError(f"malformed HTTP answer: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        return None  # close the transport; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._head is not None and self._head.done() and not self._delimited and exc is None:
            self._complete = True  # a body that ends with the connection
            self._wakeup()
            return
        if not self._complete:
            reason = "the upstream closed the connection before the answer ended"
            error = UpstreamConnectionError(reason)
            if exc is not None:
                error.__cause__ = exc
            self._fail(error)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > MAX_HEAD_BYTES:
            raise httptools.HttpParserError("the answer's headers are too long")
        self._headers.add(name.decode("latin-1"), value.decode("latin-1"))

    def on_headers_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()
        status = self._parser.get_status_code()
        self._delimited = (
            "content-length" in self._headers
            or "transfer-encoding" in self._headers
            or status in (204, 304)
            or 100 <= status < 200
        )
        if self._head is not None and not self._head.done():
            self._head.set_result(None)

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wakeup()

    def on_message_complete(self) -> None:
        self._complete = True
        self._wakeup()

    # the exchange
    def _wakeup(self) -> None:
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        for waiter in (self._head, self._wake):
            if waiter is not None and not waiter.done():
                waiter.set_exception(exc)
                waiter.exception()  # retrieved: the exchange raises it itself

    async def send(self, data: bytes) -> tuple[int, CIMultiDictProxy[str]]:
        """Write a request and wait for the answer's head: status and headers."""
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise UpstreamConnectionError("the upstream closed the connection")
        self._reset()
        self._head = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        await self._head
        return self._parser.get_status_code(), CIMultiDictProxy(self._headers)

    async def chunk(self, idle_s: float | None = None) -> bytes | None:
        """All of the body that has arrived and was not read yet, waiting for some if
        there is none; ``None`` at its end. Waiting longer than ``idle_s`` raises
        :class:`TimeoutError`. One read returns everything buffered, so a consumer that
        falls behind catches up in one step rather than one step per piece."""
        while not self._chunks:
            if self._complete:
                return None
            if self._error is not None:
                raise self._error
            wake = self._wake = asyncio.get_running_loop().create_future()
            if idle_s is None:
                await wake
                continue
            timer = asyncio.get_running_loop().call_later(idle_s, _time_out, wake)
            try:
                await wake
            finally:
                timer.cancel()
        chunks = self._chunks
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    @property
    def reusable(self) -> bool:
        return self._complete and self._keep_alive and not self.closed and not self._chunks

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class Response:
    """An upstream's answer: status, headers, and its body to read whole or as it arrives.

    :meth:`release` (or the end of the body) gives the connection back to the pool,
    or closes it if the body was not read to its end."""

    def __init__(
        self,
        pool: Pool,
        connection: _Connection,
        status: int,
        headers: CIMultiDictProxy[str],
        idle_s: float | None,
    ) -> None:
        self.status = status
        self.headers = headers
        self._pool = pool
        self._connection: _Connection | None = connection
        self._idle_s = idle_s
        encoding = headers.get("content-encoding", "identity").lower()
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._decoder: zlib._Decompress | None = zlib.decompressobj(
                16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS
            )
        elif encoding == "identity":
            self._decoder = None
        else:
            connection.close()
            raise UpstreamConnectionError(f"unsupported content-encoding {encoding!r}")

    async def chunk(self) -> bytes | None:
        """The next piece of the body, decoded; ``None`` at its end."""
        connection = self._connection
        if connection is None:
            return None
        try:
            data = await connection.chunk(self._idle_s)
        except BaseException:
            self.release()
            raise
        if data is None:
            tail = self._decoder.flush() if self._decoder is not None else b""
            self.release()
            return tail or None
        if self._decoder is not None:
            try:
                return self._decoder.decompress(data)
            except zlib.error as exc:
                self.release()
                raise UpstreamConnectionError(f"undecodable body: {exc}") from exc
        return data

    async def read(self, limit: int = MAX_BODY_BYTES) -> bytes:
        """The whole body."""
        parts: list[bytes] = []
        size = 0
        while (data := await self.chunk()) is not None:
            size += len(data)
            if size > limit:
                self.release()
                raise UpstreamConnectionError(f"the answer is longer than {limit} bytes")
            parts.append(data)
        return b"".join(parts)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        while (data := await self.chunk()) is not None:
            if data:
                yield data

    def release(self) -> None:
        """Give the connection back (if the body was read to its end) or close it."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._pool.put(connection)


class Pool:
    """Keep-alive connections to one origin, at most ``limit`` at once. An ``https``
    origin is verified against the system's certificate authorities, or ``tls``'s."""

    def __init__(
        self, url: str, limit: int, connect_timeout_s: float, tls: ssl.SSLContext | None = None
    ) -> None:
        self.origin = Origin.of(url)
        self._tls = tls
        self._connect_timeout_s = connect_timeout_s
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None
        self._busy: set[_Connection] = set()
        self.opened = 0
        """Connections opened so far (each reused as long as it lasts)."""

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        origin = self.origin
        try:
            async with asyncio.timeout(self._connect_timeout_s):
                _, connection = await loop.create_connection(
                    _Connection,
                    origin.host,
                    origin.port,
                    ssl=(self._tls or _tls()) if origin.tls else None,
                    server_hostname=origin.host if origin.tls else None,
                )
        except TimeoutError:
            raise
        except OSError as exc:  # refused, unreachable, unknown host, TLS failures
            raise UpstreamConnectionError(f"could not connect: {exc}") from exc
        self.opened += 1
        return connection

    def _reuse(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            transport = connection.transport
            fresh = now - connection.idle_since < IDLE_REUSE_S
            if fresh and not connection.closed and transport is not None:
                if not transport.is_closing():
                    return connection
            connection.close()
        return None

    async def post(
        self,
        path: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        idle_s: float | None = None,
    ) -> Response:
        """Send ``body`` and return the answer once its head arrived. ``idle_s`` bounds
        each wait for more of a streamed body."""
        data = request_bytes(self.origin, path, headers, body)
        if self._slots is not None:
            if idle_s is None:
                await self._slots.acquire()
            else:  # a stream's wait for a free connection is bounded like its reads
                async with asyncio.timeout(idle_s):
                    await self._slots.acquire()
        try:
            connection = self._reuse() or await self._connect()
            self._busy.add(connection)
            try:
                if idle_s is None:
                    status, answer_headers = await connection.send(data)
                else:
                    async with asyncio.timeout(idle_s):
                        status, answer_headers = await connection.send(data)
                return Response(self, connection, status, answer_headers, idle_s)
            except BaseException:
                self._busy.discard(connection)
                connection.close()
                raise
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise

    def put(self, connection: _Connection) -> None:
        """Take a connection back after an exchange."""
        self._busy.discard(connection)
        if self._slots is not None:
            self._slots.release()
        if connection.reusable:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            connection.close()

    async def close(self) -> None:
        """Close every connection."""
        for connection in (*self._idle, *self._busy):
            connection.close()
        self._idle.clear()
        self._busy.clear()
