"""The edge's uvicorn protocol: the bounds, enforced on each connection.

uvicorn's httptools protocol buffers a request head of any size, never times a
head out (any byte cancels its keep-alive timer), leaves a silent connection open
for ever and answers malformed HTTP in plain text. :class:`EdgeProtocol` is that
protocol with these bounds:

- a request head (request line and headers) over ``max_header_bytes`` gets 431
  ``request_header_fields_too_large`` once the limit is passed; the parser never
  holds more than the limit;
- a head must be complete ``header_timeout_s`` after the connection opened, or
  after its first byte on a kept-alive connection: a late head gets 408
  ``request_timeout``, a connection that sent nothing is closed;
- an idle kept-alive connection is closed after ``keepalive_timeout_s``, and so
  is one still sending the body of a request answered without it;
- a connection over ``max_connections`` gets 503 ``service_unavailable`` to its
  first request, which never reaches the app;
- bytes that are not HTTP/1.1 get 400 ``malformed_request``.

Each answer is the OpenAI envelope with ``X-Request-ID`` and ``Connection:
close``, after the responses to any requests before it on the connection; then
the connection lingers (reading and dropping what the client still sends) so that
closing does not reset it before the client has read the answer. An error in the
body of a request whose response is already on the wire cannot be answered: the
connection is closed.

Each response cycle writes through a :class:`~nanogate.edge._oneshot.HeldHead`, so
an answer with a ``Content-Length`` leaves in one write rather than uvicorn's two.

On the request path the protocol adds a few integer operations per read and two
clock reads per request; the deadlines reuse uvicorn's one keep-alive timer,
checked when it fires rather than cancelled by every byte. A pipelined head that
begins in the same read as the end of the request before it is counted from the
next read on, so it may exceed the limit by at most one read.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING, Any

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from nanogate.core import new_request_id
from nanogate.edge._answer import edge_response
from nanogate.edge._limits import EdgeLimits
from nanogate.edge._oneshot import HeldHead
from nanogate.errors import (
    GatewayError,
    MalformedRequest,
    RequestHeaderFieldsTooLarge,
    RequestTimeout,
    ServiceUnavailable,
)

if TYPE_CHECKING:
    from nanogate.config import ServerSettings

log = logging.getLogger("nanogate.edge")

LINGER_S = 2.0
"""How long a refused connection keeps reading (and dropping) what its client still
sends, at most, before it is closed."""


_base = HttpToolsProtocol
"""Named, for the parser callbacks: ``super()`` costs an object per call there."""


class _Answered(Exception):
    """Raised in a parser callback that has answered the request: stop parsing."""


class _Lingering(asyncio.Protocol):
    """A refused connection after its answer and FIN: drops what the client still
    sends, and closes on the client's EOF or after ``seconds``."""

    def __init__(self, transport: asyncio.Transport, seconds: float) -> None:
        self._timer = asyncio.get_running_loop().call_later(seconds, transport.close)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._timer.cancel()


class EdgeProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the bounds of :class:`EdgeLimits`.

    State, besides uvicorn's: ``_head_room`` is what the current request head may
    still use (``-1`` once the head is complete, until the request's last byte);
    ``_head_deadline`` is when the head must be complete (``0`` before its first
    byte on a kept-alive connection); ``_idle_deadline`` is when a connection that
    has begun no request head since its last response is closed; ``_deferred`` is
    the error of a pipelined request, answered once the responses before it are.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: EdgeLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        # uvicorn arms its keep-alive timer with this after each response (a float
        # where it declares an int); the handler below checks every deadline, so it
        # must wake at least once per header timeout.
        wake = min(limits.keepalive_timeout_s, limits.header_timeout_s)
        self.timeout_keep_alive = wake  # type: ignore[assignment]
        self._head_room = limits.max_header_bytes
        self._head_deadline = 0.0
        self._idle_deadline = 0.0
        self._over_cap = False
        self._answered = False
        self._deferred: GatewayError | None = None

    # Connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        limits = self.limits
        cap = limits.max_connections
        self._over_cap = bool(cap) and len(self.connections) > cap
        self._head_deadline = self._idle_deadline = self.loop.time() + limits.header_timeout_s
        self.timeout_keep_alive_task = self.loop.call_later(
            limits.header_timeout_s, self.timeout_keep_alive_handler
        )

    def data_received(self, data: bytes) -> None:
        # Unlike uvicorn's, this does not cancel the keep-alive timer: its handler
        # decides, from the deadlines, what the wait has become.
        room = self._head_room
        if room >= 0:  # a request head is arriving
            if not self._head_deadline:
                self._head_deadline = self.loop.time() + self.limits.header_timeout_s
            if len(data) > room:
                self._feed_past_room(memoryview(data))
                return
            self._head_room = room - len(data)
        try:  # _feed, inlined: this is every read's path
            self.parser.feed_data(data)
        except (httptools.HttpParserUpgrade, httptools.HttpParserError) as exc:
            self._parser_stopped(exc)

    def _feed_past_room(self, data: memoryview) -> None:
        """Feed a read longer than the head's room: the head's part first, so the
        parser never holds more head than the limit, then whatever follows it."""
        while True:
            room = self._head_room
            if room < 0 or len(data) <= room:
                if room >= 0:
                    self._head_room = room - len(data)
                self._feed(data)
                return
            if room == 0:
                limit = self.limits.max_header_bytes
                self._answer(
                    RequestHeaderFieldsTooLarge(
                        f"The request line and headers are larger than the limit of {limit} bytes."
                    )
                )
                return
            self._head_room = 0
            if not self._feed(data[:room]):
                return
            data = data[room:]

    def _feed(self, data: bytes | memoryview) -> bool:
        """Parse ``data``; whether the connection can go on parsing."""
        try:
            self.parser.feed_data(data)
        except (httptools.HttpParserUpgrade, httptools.HttpParserError) as exc:
            self._parser_stopped(exc)
            return False
        return True

    def _parser_stopped(self, exc: Exception) -> None:
        """The parser stopped on an upgrade (handled as uvicorn does), on bytes that are
        not HTTP/1.1 (400), or on a callback of ours that has answered already."""
        if isinstance(exc, httptools.HttpParserUpgrade):
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        elif not self._answered:
            reason = "" if isinstance(exc, httptools.HttpParserCallbackError) else str(exc)
            self._answer(
                MalformedRequest(f"The request is not valid HTTP/1.1: {reason}.")
                if reason
                else MalformedRequest()
            )

    # Parser callbacks ---------------------------------------------------------------

    def on_headers_complete(self) -> None:
        self._head_room = -1
        if self._over_cap:
            self._answer(
                ServiceUnavailable(
                    "The gateway has too many open connections; try again shortly.",
                    retry_after=1,
                )
            )
            raise _Answered
        before = self.cycle
        _base.on_headers_complete(self)
        cycle = self.cycle
        if cycle is not before and cycle is not None:
            cycle.transport = HeldHead(self.transport, cycle)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        _base.on_message_complete(self)
        self._head_room = self.limits.max_header_bytes
        self._head_deadline = 0.0

    def on_response_complete(self) -> None:
        self._idle_deadline = self.loop.time() + self.limits.keepalive_timeout_s
        _base.on_response_complete(self)
        deferred = self._deferred
        if deferred is not None and not self.pipeline:
            cycle = self.cycle
            if cycle is None or cycle.response_complete:
                self._deferred = None
                self._write_answer(deferred)

    # Deadlines ----------------------------------------------------------------------

    def timeout_keep_alive_handler(self) -> None:
        """The one timer of the connection fired: close, answer 408, or wait on."""
        self.timeout_keep_alive_task = None
        if self.transport.is_closing() or self._answered:
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            return  # a request is being served; its response re-arms the timer
        now = self.loop.time()
        if self._head_room < 0 or self._head_room == self.limits.max_header_bytes:
            # nothing since the last response, or the rest of a body its answer did
            # not wait for, which is dropped: either way the keep-alive time runs
            if now < self._idle_deadline:
                self._wait(self._idle_deadline - now)
            else:
                self.transport.close()
        elif now < self._head_deadline:
            self._wait(self._head_deadline - now)
        else:
            timeout = self.limits.header_timeout_s
            self._answer(RequestTimeout(f"The request head was not received within {timeout:g} s."))

    def _wait(self, seconds: float) -> None:
        wake = min(seconds, self.limits.header_timeout_s)
        self.timeout_keep_alive_task = self.loop.call_later(wake, self.timeout_keep_alive_handler)

    # Answers ------------------------------------------------------------------------

    def _answer(self, err: GatewayError) -> None:
        """Answer ``err`` and let the connection linger to its close.

        ``err`` may concern the request being served or a later one. A later one
        (pipelined while the one before it runs) is answered once every response
        before it is complete. An error in the body of the request being served ends
        that request: it is answered if no response to it has started, else the
        connection is closed."""
        if self._answered:
            return
        self._answered = True
        transport = self.transport
        if transport.is_closing():
            return
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            if not cycle.more_body:  # the error is in a later request: its turn comes
                self._deferred = err
                self.flow.pause_reading()
                return
            if cycle.response_started or self.pipeline:
                transport.close()
                return
            # the app is still reading this request: it sees a disconnect, and
            # whatever it sends from now on is dropped
            cycle.disconnected = True
            cycle.message_event.set()
        self._write_answer(err)

    def _write_answer(self, err: GatewayError) -> None:
        """Write the answer to ``err`` with ``Connection: close``, then linger."""
        transport = self.transport
        if transport.is_closing():
            return
        request_id = new_request_id()
        peer = "{}:{}".format(*self.client) if self.client else "?"
        log.info("%d %s from %s, request_id=%s", err.status, err.code, peer, request_id)
        transport.write(edge_response(err, request_id, self.server_state.default_headers))
        self.connections.discard(self)
        self._unset_keepalive_if_required()
        if not transport.can_write_eof():
            transport.close()
            return
        transport.set_protocol(_Lingering(transport, LINGER_S))
        self.flow.resume_reading()
        transport.write_eof()


def uvicorn_options(server: ServerSettings) -> dict[str, Any]:
    """The ``uvicorn.Config`` options that put the edge in front of the app, for
    ``nanogate serve`` and the test servers alike.

    The protocol is a ``partial`` of module-level names, so uvicorn can pickle it
    into worker processes. No upgrade is honoured: the gateway serves no WebSocket.
    """
    http = functools.partial(EdgeProtocol, limits=EdgeLimits.from_settings(server))
    return {"loop": "uvloop", "http": http, "ws": "none"}


__all__ = ["EdgeProtocol", "uvicorn_options"]
