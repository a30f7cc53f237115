"""``POST /api/v1/messages`` and ``POST /api/v1/messages/count_tokens`` (Anthropic)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.types import ASGIApp

from nanogate.core import count_chat_tokens, new_id
from nanogate.server._context import RequestContext
from nanogate.server._idempotency import idempotent
from nanogate.server._responses import json_response
from nanogate.server._writers import EventWriter
from nanogate.server.routes._inference import (
    chat_target,
    complete,
    read_request,
    require_key,
    require_payer,
    resolve_model,
    stream,
)
from nanogate.server.schemas import CountTokensRequest, MessagesRequest
from nanogate.translate import MessagesStream, chat_to_message, messages_to_chat


async def create_message(ctx: RequestContext) -> ASGIApp:
    await require_payer(ctx)
    parsed = await read_request(ctx, MessagesRequest)
    body, request = parsed.body, parsed.request
    model = resolve_model(ctx, request.model, "chat", body)
    target = chat_target(ctx, parsed, messages_to_chat(body), model)
    message_id = new_id("msg")

    async def run() -> ASGIApp:
        if request.stream:
            encoder = MessagesStream(
                model=target.echo, message_id=message_id, input_tokens=target.prompt_tokens
            )
            return await stream(ctx, target, EventWriter(encoder))
        completion, charge = await complete(ctx, target)
        message = chat_to_message(completion, model=target.echo, message_id=message_id)
        message["x_nanogpt_pricing"] = charge.pricing()
        return json_response(message)

    return await idempotent(ctx, body, run)


async def count_tokens(ctx: RequestContext) -> Response:
    """The prompt's token count as the gateway estimates it, without running the model."""
    await require_key(ctx)
    parsed = await read_request(ctx, CountTokensRequest)
    body, request = parsed.body, parsed.request
    resolve_model(ctx, request.model, "chat", body)
    chat = messages_to_chat({**body, "max_tokens": 1})
    return json_response({"input_tokens": count_chat_tokens(chat["messages"], chat.get("tools"))})
