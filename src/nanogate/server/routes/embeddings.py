"""``POST /api/v1/embeddings``."""

from __future__ import annotations

import base64
import struct

from starlette.types import ASGIApp

from nanogate.billing import cost
from nanogate.core import count_tokens
from nanogate.errors import ContextLengthExceeded, InvalidParameterValue, UnsupportedBatchInput
from nanogate.providers import EmbeddingCall
from nanogate.routing import Deployment, chain, plan
from nanogate.server._byok import byok_route
from nanogate.server._charging import charged
from nanogate.server._context import RequestContext
from nanogate.server._dispatch import dispatch
from nanogate.server._idempotency import idempotent
from nanogate.server._responses import json_response
from nanogate.server.routes._inference import (
    provider_for,
    read_request,
    require_payer,
    resolve_model,
    upstream_body,
)
from nanogate.server.schemas import EmbeddingsRequest


def _encode(vector: list[float], encoding: str | None) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return vector


async def create_embeddings(ctx: RequestContext) -> ASGIApp:
    await require_payer(ctx)
    parsed = await read_request(ctx, EmbeddingsRequest)
    body, request = parsed.body, parsed.request
    model = resolve_model(ctx, request.model, "embedding")
    inputs = request.inputs()
    if len(inputs) > 1 and not model.supports("batch"):
        raise UnsupportedBatchInput(
            f"The model '{model.id}' takes one input per request; "
            f"send a single input instead of a list of {len(inputs)}."
        )
    if request.dimensions is not None and request.dimensions > model.dimensions:
        raise InvalidParameterValue(
            f"dimensions is too large: {request.dimensions}. The model '{model.id}' produces "
            f"at most {model.dimensions} dimensions.",
            param="dimensions",
        )
    input_tokens = [count_tokens(item) if isinstance(item, str) else len(item) for item in inputs]
    for index, tokens in enumerate(input_tokens):
        if tokens > model.context_window:
            raise ContextLengthExceeded(
                f"Input {index} has {tokens} tokens; the model '{model.id}' takes at most "
                f"{model.context_window} tokens per input.",
                param="input",
            )
    upstream = upstream_body(body)
    fitting = [
        d
        for d in chain(model, ctx.state.catalog)
        if request.dimensions is None or request.dimensions <= d.model.dimensions
    ]
    byok = byok_route(ctx, fitting, parsed.byok)
    routes = plan(byok.deployments if byok else fitting, parsed.constraints)
    prompt_tokens = sum(input_tokens)

    def call(deployment: Deployment) -> EmbeddingCall:
        return EmbeddingCall(
            inputs=inputs,
            input_tokens=input_tokens,
            dimensions=request.dimensions,
            model=deployment.model,
            request_id=ctx.request_id,
            body={**upstream, "model": deployment.upstream_model},
            credential=byok.credentials[deployment.provider] if byok else None,
        )

    async def run() -> ASGIApp:
        reserve = max(cost(d.model, prompt_tokens, 0) for d in routes.candidates)
        fee = byok.fee_percent if byok else None
        async with charged(
            ctx, model, prompt_tokens, reserve, max_tokens=0, fee_percent=fee, quoted=body
        ) as charge:
            result, deployment = await dispatch(
                ctx,
                routes,
                lambda d: provider_for(ctx, d).embed(call(d)),
                shared_health=byok is None,
            )
            charge.model = deployment.model
            await charge.settle({"prompt_tokens": result.prompt_tokens, "completion_tokens": 0})
        counted = prompt_tokens if result.prompt_tokens is None else result.prompt_tokens
        data = [
            {
                "object": "embedding",
                "index": index,
                "embedding": _encode(vector, request.encoding_format),
            }
            for index, vector in enumerate(result.vectors)
        ]
        usage = {"prompt_tokens": counted, "total_tokens": counted}
        return json_response(
            {
                "object": "list",
                "data": data,
                "model": model.id,
                "usage": usage,
                "x_nanogpt_pricing": charge.pricing(),
            }
        )

    return await idempotent(ctx, body, run)
