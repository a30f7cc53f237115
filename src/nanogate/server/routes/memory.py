"""``POST /api/v1/memory``: context memory's compression alone, as NanoGPT serves it.

The conversation comes back as a chat request would send it on: its system messages,
one memory message summarising every turn before the last, and the last turn. The
summary is stored for the key like inline memory's, so the next call (or a chat
request with ``:memory``) of the same conversation reuses it. Memory is charged at the
``[memory]`` prices; errors answer in the legacy envelope.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from nanogate.billing import MEMORY
from nanogate.errors import InvalidParameterValue
from nanogate.memory import split
from nanogate.routing import clamp_days, days_header
from nanogate.server._charging import charged
from nanogate.server._context import RequestContext
from nanogate.server._idempotency import idempotent
from nanogate.server._memory import compress, standalone_ask
from nanogate.server._responses import json_response
from nanogate.server.routes._inference import read_request, require_key
from nanogate.server.schemas import MemoryRequest

DEFAULT_LIMIT = 128_000
"""The context a compressed conversation fits when the request names none."""


async def compress_memory(ctx: RequestContext) -> ASGIApp:
    await require_key(ctx)
    parsed = await read_request(ctx, MemoryRequest)
    request, body = parsed.request, parsed.body
    state = ctx.state
    if state.memory_sealer is None:
        raise InvalidParameterValue("Context memory is not enabled on this gateway.")
    days = days_header(ctx.headers)
    if days is None:
        days = clamp_days(request.expiration_days or state.settings.memory.default_days)
    messages = body["messages"]
    model = state.catalog.get(state.settings.memory.summary_model)
    assert model is not None, "checked with the settings"
    ctx.model = model
    ctx.record.model = model.id

    async def run() -> ASGIApp:
        if len(split(messages).turns) < 2:
            return json_response({"messages": messages, "usage": _usage(0, 0)})
        ask = standalone_ask(ctx, days, messages, request.model_context_limit or DEFAULT_LIMIT)
        async with charged(ctx, model, 0, 0, add_ons={MEMORY: ask.max_nusd}) as charge:
            compressed = await compress(ctx, ask, messages, None)
            if compressed.cost_nusd:
                charge.add_ons[MEMORY] = compressed.cost_nusd
            await charge.settle_add_ons(compressed.input_tokens, compressed.output_tokens)
        usage = _usage(compressed.input_tokens, compressed.output_tokens)
        return json_response({"messages": compressed.messages, "usage": usage})

    return await idempotent(ctx, body, run)


def _usage(prompt: int, completion: int) -> dict[str, object]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0},
    }
