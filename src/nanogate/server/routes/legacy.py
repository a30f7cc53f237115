"""The legacy ``/api/*`` endpoints: ``talk-to-gpt``, ``check-balance``, ``models``.

They answer errors in the legacy envelope, ``{"error": "<message>", "status": N}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp

from nanogate.core import format_usd
from nanogate.errors import InvalidAPIKey, MissingRequiredParameter
from nanogate.server._context import RequestContext
from nanogate.server._idempotency import idempotent
from nanogate.server._responses import json_response
from nanogate.server.routes._inference import (
    chat_target,
    complete,
    read_request,
    require_key,
    require_payer,
    resolve_model,
)
from nanogate.server.schemas import TalkToGPTRequest


async def talk_to_gpt(ctx: RequestContext) -> ASGIApp:
    """A plain-text answer followed by ``<NanoGPT>{cost, inputTokens, outputTokens}</NanoGPT>``."""
    await require_payer(ctx)
    parsed = await read_request(ctx, TalkToGPTRequest)
    raw, request = parsed.body, parsed.request
    if not request.prompt and not request.messages:
        raise MissingRequiredParameter("Missing required parameter: 'prompt'.", param="prompt")
    model = resolve_model(ctx, request.model, "chat", raw)
    messages: list[dict[str, Any]] = [
        m.model_dump(exclude_none=True) for m in request.messages or ()
    ]
    if request.prompt:
        messages.append({"role": "user", "content": request.prompt})
    body: dict[str, Any] = {"model": request.model, "messages": messages}
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.temperature is not None:
        body["temperature"] = request.temperature
    target = chat_target(ctx, parsed, body, model)

    async def run() -> ASGIApp:
        completion, charge = await complete(ctx, target)
        text = completion["choices"][0]["message"].get("content") or ""
        pricing = charge.pricing()
        trailer = orjson.dumps(
            {
                "cost": pricing["cost"],
                "inputTokens": pricing["inputTokens"],
                "outputTokens": pricing["outputTokens"],
            }
        )
        content = text.encode() + b"<NanoGPT>" + trailer + b"</NanoGPT>"
        return Response(content, 200, media_type="text/plain; charset=utf-8")

    return await idempotent(ctx, raw, run)


async def check_balance(ctx: RequestContext) -> Response:
    """The account's balance, and the part of it held by requests in flight."""
    key = await require_key(ctx)
    account = await ctx.state.book.get_account(key.account_id)
    if account is None:
        raise InvalidAPIKey("The account of this API key no longer exists.")
    return json_response(
        {
            "usd_balance": format_usd(account.balance_nusd),
            "usd_reserved": format_usd(account.reserved_nusd),
            "nano_balance": "0",
        }
    )


async def list_model_ids(ctx: RequestContext) -> Response:
    return json_response({"models": [model.id for model in ctx.state.catalog]})
