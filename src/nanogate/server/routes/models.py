"""``GET /api/v1/models`` (``?detailed=true``), ``GET /api/v1/models/{model_id}``.

The list is public, as NanoGPT's is: a request without a key, or with a key
that is not valid, sees every model; a valid key sees the models it may use.
Detailed entries use NanoGPT's field names (``context_length``,
``capabilities.tool_calling``, ``pricing`` in USD per million tokens).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from nanogate.errors import GatewayError
from nanogate.routing import Model, model_not_found
from nanogate.server._auth import authenticate, presented_key
from nanogate.server._context import RequestContext, query_value
from nanogate.server._payer import AccountPayer
from nanogate.server._responses import json_response
from nanogate.storage import APIKey


def _optional_key(ctx: RequestContext) -> APIKey | None:
    """The caller's key if it presented a good one; the list is public either way."""
    try:
        key = authenticate(presented_key(ctx.headers), ctx.state.keys, ctx.state.clock())
    except GatewayError:
        return None
    ctx.payer = AccountPayer(key)
    return key


def _capabilities(model: Model) -> dict[str, bool]:
    tools = model.supports("tools")
    return {
        "vision": model.supports("vision"),
        "reasoning": False,
        "tool_calling": tools,
        "parallel_tool_calls": tools,
        "structured_output": model.supports("json_schema"),
        "pdf_upload": model.supports("file"),
        "audio_input": model.supports("audio"),
        "video_input": model.supports("video"),
        "streaming": model.supports("streaming"),
        "batch_input": model.supports("batch"),
    }


def _price(usd_per_mtok: object) -> orjson.Fragment:
    return orjson.Fragment(format(usd_per_mtok, "f").encode())


def _visible(ctx: RequestContext) -> list[Model]:
    key = _optional_key(ctx)
    return [m for m in ctx.state.catalog if key is None or key.allows(m.id)]


def model_object(model: Model, created: int, detailed: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": model.id,
        "object": "model",
        "created": created,
        "owned_by": model.owned_by,
    }
    if detailed:
        data.update(
            name=model.name,
            description=model.description,
            type=model.type,
            context_length=model.context_window,
            max_output_tokens=model.max_output_tokens,
            capabilities=_capabilities(model),
            pricing={
                "prompt": _price(model.input_usd_per_mtok),
                "completion": _price(model.output_usd_per_mtok),
                "currency": "USD",
                "unit": "per_million_tokens",
            },
        )
        if model.type == "embedding":
            data["dimensions"] = model.dimensions
    return data


def _detailed(ctx: RequestContext) -> bool:
    return query_value(ctx.scope, "detailed").lower() in ("true", "1", "yes")


async def list_models(ctx: RequestContext) -> Response:
    detailed = _detailed(ctx)
    created = ctx.state.started_at
    return json_response(
        {"object": "list", "data": [model_object(m, created, detailed) for m in _visible(ctx)]}
    )


async def retrieve_model(ctx: RequestContext) -> Response:
    model_id = ctx.params["model_id"]
    model = ctx.state.catalog.get(model_id)
    key = _optional_key(ctx)
    if model is None or (key is not None and not key.allows(model_id)):
        raise model_not_found(model_id)
    return json_response(model_object(model, ctx.state.started_at, _detailed(ctx)))
