"""The load generator's HTTP/1.1 clients: one keep-alive connection each.

Two implementations of the same tiny interface, so their cost can be compared:

- :class:`RawConnection`: an ``asyncio.Protocol`` that writes a pre-built request
  and parses the answer with ``httptools`` (the C parser uvicorn uses). Times are
  taken inside the parser callbacks, so event-loop scheduling after the answer
  is complete does not count against the server.
- :class:`AiohttpConnection`: an ``aiohttp.ClientSession`` limited to one
  connection, timed around ``post()``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from time import perf_counter_ns
from typing import Any, Protocol, cast

import aiohttp
import httptools
import orjson


@dataclass(frozen=True, slots=True)
class Target:
    """One server under test and the request it is sent."""

    name: str
    host: str
    port: int
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        """The target from its JSON form (as the load spec carries it)."""
        return cls(**data)

    def payload(self, stream: bool) -> bytes:
        """The request body, with ``"stream": true`` when asked."""
        return orjson.dumps({**self.body, "stream": True} if stream else self.body)

    def request(self, stream: bool) -> bytes:
        """The whole HTTP/1.1 request, bytes on the wire."""
        body = self.payload(stream)
        lines = [
            f"POST {self.path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            *(f"{name}: {value}" for name, value in self.headers.items()),
        ]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


SSE_DATA = b"data:"


class EventCounter:
    """Counts ``data:`` fields (SSE events) in a body fed chunk by chunk.

    A field name split across two chunks is counted once: the last bytes of the
    previous chunk (fewer than the name's length) are kept and checked against the
    start of the next.
    """

    __slots__ = ("count", "_tail")

    def __init__(self) -> None:
        self.count = 0
        self._tail = b""

    def feed(self, chunk: bytes) -> None:
        """Count the events in ``chunk``, and one straddling the previous chunk's end."""
        keep = len(SSE_DATA) - 1
        self.count += chunk.count(SSE_DATA)
        if self._tail:
            self.count += (self._tail + chunk[:keep]).count(SSE_DATA)
        self._tail = chunk[-keep:] if len(chunk) >= keep else (self._tail + chunk)[-keep:]


@dataclass(frozen=True, slots=True)
class Reply:
    """What one request took: status, nanosecond timestamps, SSE events received."""

    status: int
    start_ns: int
    first_byte_ns: int
    end_ns: int
    body: bytes = b""
    events: int = 0

    @property
    def latency_ns(self) -> int:
        """From writing the request to the end of the answer."""
        return self.end_ns - self.start_ns

    @property
    def first_byte_after_ns(self) -> int:
        """From writing the request to the first byte of the answer's body."""
        return self.first_byte_ns - self.start_ns

    @property
    def after_first_byte_ns(self) -> int:
        """From the first byte of the answer's body to its end."""
        return self.end_ns - self.first_byte_ns


class Connection(Protocol):
    """One keep-alive connection to a target."""

    async def send(self, stream: bool, keep_body: bool = False) -> Reply:
        """Send the target's request (streaming or not) and wait for the whole answer."""
        ...

    async def close(self) -> None:
        """Close the connection."""
        ...


class RawConnection(asyncio.Protocol):
    """A keep-alive HTTP/1.1 connection over a bare transport, parsed by httptools."""

    def __init__(self, target: Target) -> None:
        self._requests = {False: target.request(False), True: target.request(True)}
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[int] | None = None
        self._first_byte_ns = 0
        self._keep_body = False
        self._chunks: list[bytes] = []
        self._events = EventCounter()
        self._closed = False
        self._keep_alive = True

    @classmethod
    async def open(cls, target: Target) -> RawConnection:
        """A new connection to ``target``."""
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(lambda: cls(target), target.host, target.port)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._fail(exc or ConnectionResetError("the server closed the connection"))

    def _fail(self, exc: BaseException) -> None:
        """Hand ``exc`` to the request waiting for an answer, if any."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)

    # httptools callbacks
    def on_headers_complete(self) -> None:
        self._keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if not self._first_byte_ns:
            self._first_byte_ns = perf_counter_ns()
        self._events.feed(body)
        if self._keep_body:
            self._chunks.append(body)

    def on_message_complete(self) -> None:
        end = perf_counter_ns()
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(end)

    async def send(self, stream: bool, keep_body: bool = False) -> Reply:
        if self._closed or self._transport is None:
            raise ConnectionResetError("the connection is closed")
        self._waiter = asyncio.get_running_loop().create_future()
        self._first_byte_ns = 0
        self._keep_body = keep_body
        self._chunks = []
        self._events = EventCounter()
        start = perf_counter_ns()
        self._transport.write(self._requests[stream])
        end = await self._waiter
        status = self._parser.get_status_code()
        if not self._keep_alive:
            self._closed = True
        first = self._first_byte_ns or end
        return Reply(status, start, first, end, b"".join(self._chunks), self._events.count)

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class AiohttpConnection:
    """A keep-alive connection through an aiohttp session limited to one connection."""

    def __init__(self, target: Target) -> None:
        self._url = f"http://{target.host}:{target.port}{target.path}"
        self._payloads = {False: target.payload(False), True: target.payload(True)}
        self._headers = {"content-type": "application/json", **target.headers}
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1, keepalive_timeout=60),
            skip_auto_headers=("user-agent",),
        )

    @classmethod
    async def open(cls, target: Target) -> AiohttpConnection:
        """A new session for ``target``; it connects on the first request."""
        return cls(target)

    async def send(self, stream: bool, keep_body: bool = False) -> Reply:
        chunks: list[bytes] = []
        events = EventCounter()
        first = 0
        start = perf_counter_ns()
        async with self._session.post(
            self._url, data=self._payloads[stream], headers=self._headers
        ) as answer:
            async for chunk in answer.content.iter_any():
                if not first:
                    first = perf_counter_ns()
                events.feed(chunk)
                if keep_body:
                    chunks.append(chunk)
            end = perf_counter_ns()
            body = b"".join(chunks)
            return Reply(answer.status, start, first or end, end, body, events.count)

    async def close(self) -> None:
        await self._session.close()


CLIENTS = {"raw": RawConnection, "aiohttp": AiohttpConnection}


async def connect(target: Target, kind: str) -> Connection:
    """Open one connection of ``kind`` (``raw`` or ``aiohttp``) to ``target``."""
    if kind == "raw":
        return await RawConnection.open(target)
    if kind == "aiohttp":
        return await AiohttpConnection.open(target)
    raise ValueError(f"unknown client {kind!r}; known: {sorted(CLIENTS)}")
