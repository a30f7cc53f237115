"""``POST /api/v1/moderations``: classify input with a moderation model, in OpenAI's shape.

``model`` is optional (the default moderation model). ``input`` is a string, a
list of strings (one result each; only for models with the ``batch``
capability), or a list of ``text`` / ``image_url`` content parts (one result).
The request is billed per input token at the model's price, like any other.
"""

from __future__ import annotations

from starlette.types import ASGIApp

from nanogate.core import new_id
from nanogate.errors import ContextLengthExceeded, InvalidParameterValue, UnsupportedBatchInput
from nanogate.moderation import request_inputs
from nanogate.server._context import RequestContext
from nanogate.server._idempotency import idempotent
from nanogate.server._moderation import charged_moderation, check_inputs, moderation_model
from nanogate.server._responses import json_response
from nanogate.server.routes._inference import read_request, require_key
from nanogate.server.schemas import ModerationRequest


async def create_moderation(ctx: RequestContext) -> ASGIApp:
    await require_key(ctx)
    parsed = await read_request(ctx, ModerationRequest)
    body, request = parsed.body, parsed.request
    if parsed.byok is not None:
        raise InvalidParameterValue(
            "Moderation runs on the gateway's own moderators; BYOK does not apply here.",
            param="byok",
        )
    model = moderation_model(ctx, request.model, "model")
    ctx.model = model
    ctx.record.model = model.id
    inputs = request_inputs(request.input)
    if len(inputs) > 1 and not model.supports("batch"):
        raise UnsupportedBatchInput(
            f"The model '{model.id}' takes one input per request; "
            f"send a single input instead of a list of {len(inputs)}."
        )
    check_inputs(ctx, model, inputs, "input")
    for index, parts in enumerate(inputs):
        tokens = sum(part.tokens for part in parts)
        if tokens > model.context_window:
            raise ContextLengthExceeded(
                f"Input {index} has {tokens} tokens; the model '{model.id}' takes at most "
                f"{model.context_window} tokens per input.",
                param="input",
            )

    async def run() -> ASGIApp:
        result, charge = await charged_moderation(ctx, model, inputs)
        record = ctx.record
        prompt, completion = record.input_tokens or 0, record.output_tokens or 0
        return json_response(
            {
                "id": new_id("modr"),
                "model": model.id,
                "results": [verdict.as_dict() for verdict in result.verdicts],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
                "x_nanogpt_pricing": charge.pricing(),
            }
        )

    return await idempotent(ctx, body, run)
