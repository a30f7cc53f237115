"""Turns exceptions into error responses in the request's surface envelope.

Before the response has started, a :class:`~nanogate.errors.GatewayError`
becomes its enveloped response, and anything else becomes a 500
``server_error`` whose body holds no traceback (the traceback goes to the log,
with the request id). After the response has started there is nothing left to
send: streams render their own terminal error events, so an exception here is
only logged.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nanogate.errors import GatewayError, ServerError
from nanogate.server._body import ClientDisconnected
from nanogate.server._context import context_of
from nanogate.server._responses import error_response

log = logging.getLogger("nanogate.errors")

CLIENT_CLOSED = 499
"""Status recorded (never sent) for a request whose client went away."""


class ErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except ClientDisconnected:
            ctx = context_of(scope)  # the request in effect: an x402 complete's stored one
            ctx.record.status = CLIENT_CLOSED
            ctx.record.code = "client_disconnected"
        except GatewayError as err:
            ctx = context_of(scope)
            ctx.record.code, ctx.record.message = err.code, err.message
            if started:
                log.warning("error after response start, request_id=%s: %r", ctx.request_id, err)
                return
            await error_response(err, ctx.surface)(scope, receive, send)
        except Exception:
            ctx = context_of(scope)
            log.exception("unexpected error, request_id=%s", ctx.request_id)
            failure = ServerError.for_request(ctx.request_id)
            ctx.record.code, ctx.record.message = failure.code, "unexpected exception"
            if not started:
                await error_response(failure, ctx.surface)(scope, receive, send)
