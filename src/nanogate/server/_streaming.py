"""Streaming responses: the SSE relay and the ASGI response that carries it.

The relay pulls the provider's first chunk *before* the response starts, so a
failure up to that point is an ordinary enveloped error with its status. After
the first byte, a failure becomes the dialect's terminal error event, and a
stream that stops without finishing is such a failure, never a clean end.

:class:`SSEResponse` watches for ``http.disconnect`` while it streams and
cancels the relay the moment the client goes away, which closes the upstream
request too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

from starlette.types import Receive, Scope, Send

from nanogate.core import KEEPALIVE
from nanogate.errors import EmptyResponse, GatewayError, ServerError
from nanogate.providers import stream_ended_early
from nanogate.server._charging import Charge, add_produced
from nanogate.server._context import RequestContext

log = logging.getLogger("nanogate.stream")

_SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class StreamWriter(Protocol):
    """Encodes chat chunks into one dialect's SSE bytes."""

    def start(self) -> bytes: ...

    def feed(self, chunk: dict[str, Any]) -> bytes: ...

    def finish(self, pricing: dict[str, Any]) -> bytes:
        """The end of a successful stream, carrying ``x_nanogpt_pricing``."""

    def fail(self, err: GatewayError) -> bytes: ...


Batch = list[dict[str, Any]]
"""Chunks that arrived together (see :meth:`~nanogate.providers.Provider.chat_stream`)."""


async def first_batch(batches: AsyncIterator[Batch]) -> Batch:
    """The stream's first chunks; failures here are still ordinary error responses."""
    try:
        return await anext(batches)
    except StopAsyncIteration:
        raise stream_ended_early() from None


async def relay(
    ctx: RequestContext,
    first: Batch,
    batches: AsyncIterator[Batch],
    writer: StreamWriter,
    charge: Charge,
    on_finish: Callable[[], Awaitable[None]] | None = None,
) -> AsyncIterator[bytes]:
    """SSE bytes for ``first`` and the rest of ``batches``, ending in success or the
    dialect's terminal error event, and settling ``charge`` exactly once. Each batch's
    events go out together, in one write.

    A successful stream is settled before its final events are built, so they carry
    the price. A stream that produced nothing is ``empty_response`` and, like any
    failed stream, is not charged. A client that disconnects is charged for what
    the provider produced until then. ``on_finish`` runs after a successful
    stream's final events are built and before they are sent (the Responses API
    stores the response there).
    """
    finished = False
    try:
        yield writer.start()
        batch: Batch | None = first
        while batch is not None:
            out = []
            for chunk in batch:
                for choice in chunk.get("choices") or ():
                    if choice.get("finish_reason"):
                        finished = True
                    if delta := choice.get("delta"):
                        add_produced(delta, charge.produced)
                if chunk.get("usage"):
                    ctx.usage = chunk["usage"]
                if data := writer.feed(chunk):
                    out.append(data)
            if out:
                yield out[0] if len(out) == 1 else b"".join(out)
            batch = await anext(batches, None)
        if not finished:
            raise stream_ended_early()
        if not charge.produced:
            raise EmptyResponse()
        await charge.settle(ctx.usage)
        final = writer.finish(charge.pricing())
        if on_finish is not None:
            await on_finish()
        yield final
    except GatewayError as err:
        ctx.record.code, ctx.record.message = err.code, err.message
        log.warning("stream failed, request_id=%s: %s", ctx.request_id, err.message)
        await charge.release(f"stream ended in an error: {err.code}")
        yield writer.fail(err)
    except (asyncio.CancelledError, GeneratorExit):
        await charge.settle(None, "client disconnected")
        raise
    except Exception:
        log.exception("stream failed unexpectedly, request_id=%s", ctx.request_id)
        failure = ServerError.for_request(ctx.request_id)
        ctx.record.code, ctx.record.message = failure.code, "unexpected exception"
        await charge.release("stream failed unexpectedly")
        yield writer.fail(failure)
    finally:
        await close_stream(batches)


async def close_stream(chunks: AsyncIterator[Any]) -> None:
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


class SSEResponse:
    """An ASGI response streaming ``body``, cancelled as soon as the client disconnects.

    The body is pumped by a child task while this one watches ``receive`` for
    ``http.disconnect``; whichever ends first stops the other. A third task sends a
    ``: keep-alive`` comment whenever nothing was sent for ``sse_keepalive_s``, so
    proxies and clients do not time out while the upstream is silent.
    """

    def __init__(self, ctx: RequestContext, body: AsyncIterator[bytes]) -> None:
        self.ctx = ctx
        self.body = body
        self._sending = asyncio.Lock()
        self._last_sent = 0.0
        self._ended = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE_HEADERS})
        self._last_sent = asyncio.get_running_loop().time()
        pump = asyncio.create_task(self._pump(send))
        watcher = asyncio.create_task(_wait_for_disconnect(receive))
        keeper = asyncio.create_task(
            self._keep_alive(send, self.ctx.state.settings.server.sse_keepalive_s)
        )
        try:
            await asyncio.wait((pump, watcher, keeper), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (pump, watcher, keeper):
                task.cancel()
            await asyncio.gather(pump, watcher, keeper, return_exceptions=True)
        if pump.cancelled() or isinstance(pump.exception(), OSError):
            self.ctx.record.code = "client_disconnected"
        elif (error := pump.exception()) is not None:
            raise error

    async def _pump(self, send: Send) -> None:
        loop = asyncio.get_running_loop()
        try:
            async for data in self.body:
                async with self._sending:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                    self._last_sent = loop.time()
            async with self._sending:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                self._ended = True
        finally:
            await close_stream(self.body)

    async def _keep_alive(self, send: Send, every: float) -> None:
        """Send a comment line after every ``every`` seconds without a byte sent; a send
        that fails (the client went away) ends this task and so the response."""
        loop = asyncio.get_running_loop()
        while True:
            idle = loop.time() - self._last_sent
            if idle < every:
                await asyncio.sleep(every - idle)
                continue
            async with self._sending:
                if self._ended:  # the pump has finished; this task is about to be cancelled
                    await asyncio.sleep(every)
                    continue
                await send({"type": "http.response.body", "body": KEEPALIVE, "more_body": True})
                self._last_sent = loop.time()


async def _wait_for_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
