"""``POST /api/v1/responses`` and ``GET``/``DELETE /api/v1/responses/{response_id}``.

Responses are stored (unless ``store: false``) with the conversation that led
to them, so ``previous_response_id`` continues it. Only the key that created a
stored response can read, continue or delete it.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp

from nanogate.core import new_id
from nanogate.errors import MissingRequiredParameter, ResponseNotFound
from nanogate.server._context import RequestContext
from nanogate.server._idempotency import idempotent
from nanogate.server._responses import json_response
from nanogate.server._writers import EventWriter
from nanogate.server.routes._inference import (
    chat_target,
    complete,
    read_request,
    require_key,
    resolve_model,
    stream,
)
from nanogate.server.schemas import ResponsesRequest
from nanogate.translate import ResponsesStream, chat_to_response, output_to_chat, responses_to_chat


async def create_response(ctx: RequestContext) -> ASGIApp:
    key = await require_key(ctx)
    parsed = await read_request(ctx, ResponsesRequest)
    body, request = parsed.body, parsed.request
    if request.input is None:
        raise MissingRequiredParameter("Missing required parameter: 'input'.", param="input")
    model = resolve_model(ctx, request.model, "chat", body)
    history: list[dict[str, Any]] = []
    if request.previous_response_id is not None:
        previous = await ctx.state.store.get_response(request.previous_response_id, key.id)
        if previous is None:
            raise ResponseNotFound(
                f"Previous response with id '{request.previous_response_id}' not found.",
                param="previous_response_id",
            )
        history = previous.context
    chat, conversation = responses_to_chat(body, history)
    target = chat_target(
        ctx, parsed, chat, model, {"max_tokens": "max_output_tokens", "messages": "input"}
    )
    response_id = new_id("resp")
    created_at = int(time.time())
    store = request.store is not False

    async def save(response: dict[str, Any]) -> None:
        if store:
            context = conversation + output_to_chat(response)
            await ctx.state.store.save_response(response_id, key.id, response, context)

    async def run() -> ASGIApp:
        if request.stream:
            encoder = ResponsesStream(
                request=body, response_id=response_id, created_at=created_at, model=target.echo
            )

            async def save_streamed() -> None:
                assert encoder.response is not None
                await save(encoder.response)

            return await stream(ctx, target, EventWriter(encoder), on_finish=save_streamed)
        completion, charge = await complete(ctx, target)
        response = chat_to_response(
            completion,
            request=body,
            response_id=response_id,
            created_at=created_at,
            model=target.echo,
        )
        await save(response)
        return json_response({**response, "x_nanogpt_pricing": charge.pricing()})

    return await idempotent(ctx, body, run)


async def get_response(ctx: RequestContext) -> Response:
    key = await require_key(ctx)
    stored = await ctx.state.store.get_response(ctx.params["response_id"], key.id)
    if stored is None:
        raise ResponseNotFound(f"Response with id '{ctx.params['response_id']}' not found.")
    return json_response(stored.body)


async def delete_response(ctx: RequestContext) -> Response:
    key = await require_key(ctx)
    response_id = ctx.params["response_id"]
    if not await ctx.state.store.delete_response(response_id, key.id):
        raise ResponseNotFound(f"Response with id '{response_id}' not found.")
    return json_response({"id": response_id, "object": "response", "deleted": True})
