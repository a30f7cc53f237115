"""``POST /api/v1/chat/completions``."""

from __future__ import annotations

from starlette.types import ASGIApp

from nanogate.server._context import RequestContext
from nanogate.server._responses import json_response
from nanogate.server._writers import ChatWriter
from nanogate.server.routes._inference import (
    chat_target,
    complete,
    read_request,
    require_key,
    resolve_model,
    stream,
)
from nanogate.server.schemas import ChatCompletionRequest


async def create_chat_completion(ctx: RequestContext) -> ASGIApp:
    require_key(ctx)
    body, request = await read_request(ctx, ChatCompletionRequest)
    model = resolve_model(ctx, request.model, "chat")
    target = chat_target(ctx, body, model)
    if request.stream:
        options = request.stream_options
        include_usage = bool(options and options.include_usage)
        return await stream(ctx, target, ChatWriter(model.id, include_usage))
    completion = await complete(ctx, target)
    completion["model"] = model.id
    return json_response(completion)
