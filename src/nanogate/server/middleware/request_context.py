"""Gives every request its id and context, stamps the id on the response, and
hands the finished request to the request log and the metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nanogate.core import new_request_id
from nanogate.server._context import SCOPE_KEY, RequestContext, context_of

if TYPE_CHECKING:
    from nanogate.server._state import GatewayState


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, state: GatewayState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = new_request_id()
        ctx = RequestContext.start(self.state, scope, receive, request_id)
        ctx.logged = scope["path"].startswith("/api/")
        scope[SCOPE_KEY] = ctx

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                # the request in effect, read at send time: an x402 complete answers
                # for its stored request, and a replayed answer carries its original id
                current = context_of(scope)
                current.record.status = message["status"]
                current.record.ttfb_ms = current.elapsed_ms()
                id_header = current.request_id.encode()
                stamp = [(b"x-request-id", id_header)]
                stamp.extend(current.response_headers)
                if current.surface == "anthropic":
                    stamp.append((b"request-id", id_header))
                message["headers"] = [*message.get("headers", ()), *stamp]
            await send(message)

        tracing = self.state.tracing
        traced = (
            None
            if tracing is None
            else tracing.start_request(scope["method"], scope["path"], request_id)
        )
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            ctx = context_of(scope)  # the request in effect (see send_with_id)
            record = ctx.record
            record.duration_ms = ctx.elapsed_ms()
            if ctx.key is not None:
                record.key_id = ctx.key.id
                record.account_id = ctx.key.account_id
            if record.model is not None:
                # by catalogue id: a model's text may carry suffixes, and labels stay few
                model = ctx.model.id if ctx.model is not None else record.model
                self.state.metrics.tokens(model, record.input_tokens, record.output_tokens)
            self.state.metrics.observe(
                ctx.route, record.method, record.status, record.code, record.duration_ms / 1000
            )
            if self.state.access_log is not None:
                self.state.access_log.write(record)
            if ctx.logged:
                self.state.request_log.add(record)
            if ctx.held is not None:
                self.state.secrets.release(ctx.held)
            if traced is not None:
                assert tracing is not None
                tracing.end_request(traced, record, ctx.route)
