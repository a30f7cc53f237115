"""``POST /api/v1/chat/completions``."""

from __future__ import annotations

from starlette.types import ASGIApp

from nanogate.server._context import RequestContext
from nanogate.server._idempotency import idempotent
from nanogate.server._responses import json_response
from nanogate.server._writers import ChatWriter
from nanogate.server.routes._inference import (
    ChatTarget,
    chat_target,
    complete,
    read_request,
    require_payer,
    resolve_model,
    stream,
)
from nanogate.server.schemas import ChatCompletionRequest


async def create_chat_completion(ctx: RequestContext) -> ASGIApp:
    await require_payer(ctx)
    parsed = await read_request(ctx, ChatCompletionRequest)
    body, request = parsed.body, parsed.request
    model = resolve_model(ctx, request.model, "chat", body)
    target = chat_target(ctx, parsed, body, model)
    options = request.stream_options
    include_usage = bool(options and options.include_usage)

    async def run() -> ASGIApp:
        if request.stream:
            return await stream(ctx, target, ChatWriter(target.echo, include_usage))
        return await _answer(ctx, target)

    return await idempotent(ctx, body, run)


async def _answer(ctx: RequestContext, target: ChatTarget) -> ASGIApp:
    completion, charge = await complete(ctx, target)
    completion["model"] = target.echo
    completion["x_nanogpt_pricing"] = charge.pricing()
    return json_response(completion)
