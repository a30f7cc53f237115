"""Steps every inference route shares: authenticate, read, resolve, check, dispatch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from nanogate.billing import maximum_cost
from nanogate.errors import EmptyResponse, GatewayError
from nanogate.providers import ChatCall, Provider
from nanogate.routing import Model, ModelType
from nanogate.server._auth import authenticate, presented_key
from nanogate.server._body import read_json
from nanogate.server._charging import Charge, admit, admit_accountless, produced
from nanogate.server._checks import check_chat
from nanogate.server._context import RequestContext
from nanogate.server._streaming import SSEResponse, StreamWriter, first_chunk, relay
from nanogate.server._validation import validate
from nanogate.storage import APIKey

T = TypeVar("T", bound=BaseModel)


async def require_key(ctx: RequestContext) -> APIKey:
    """The request's API key, or the 401 (or 400) that says what is wrong with it.

    Requests without a valid key count against their client address's limit, so
    guessing keys is slow; past it they get 429 instead of 401.
    """
    try:
        ctx.key = authenticate(presented_key(ctx.headers), ctx.state.keys, ctx.state.clock())
    except GatewayError:
        await admit_accountless(ctx)
        raise
    return ctx.key


async def read_body(ctx: RequestContext) -> dict[str, Any]:
    server = ctx.state.settings.server
    return await read_json(ctx.headers, ctx.receive, server.max_body_bytes, server.body_timeout_s)


async def read_request(ctx: RequestContext, schema: type[T]) -> tuple[dict[str, Any], T]:
    """The request body, raw and validated against ``schema``."""
    body = await read_body(ctx)
    return body, validate(schema, body, ctx.surface)


def resolve_model(ctx: RequestContext, model_id: str, kind: ModelType) -> Model:
    model = ctx.state.catalog.resolve(model_id, ctx.key, kind)
    ctx.model = model
    ctx.record.model = model.id
    return model


@dataclass(frozen=True, slots=True)
class ChatTarget:
    """A checked chat request and where it goes."""

    model: Model
    provider: Provider
    call: ChatCall
    prompt_tokens: int
    max_tokens: int | None

    @property
    def reserve(self) -> int:
        """The most this request may cost."""
        return maximum_cost(self.model, self.prompt_tokens, self.max_tokens)


def chat_target(
    ctx: RequestContext,
    body: dict[str, Any],
    model: Model,
    names: Mapping[str, str] | None = None,
) -> ChatTarget:
    """Check a chat-dialect body against ``model`` and address it to its deployment.

    ``names`` maps chat fields to the client's own names for error params.
    """
    prompt_tokens, max_tokens = check_chat(body, model, names)
    upstream = {**body, "model": model.upstream_model}
    call = ChatCall(upstream, model, ctx.request_id, prompt_tokens)
    return ChatTarget(model, ctx.state.providers[model.provider], call, prompt_tokens, max_tokens)


async def complete(ctx: RequestContext, target: ChatTarget) -> tuple[dict[str, Any], Charge]:
    """A whole chat completion, charged: admitted first, settled on its usage after.

    An upstream failure releases the hold; an answer with no content at all is
    ``empty_response`` and is not charged.
    """
    charge = await admit(ctx, target.model, target.prompt_tokens, target.reserve)
    try:
        completion = await target.provider.chat(target.call)
    except BaseException:
        await charge.release("failed before an answer")
        raise
    charge.produced = produced(completion, "message")
    if not charge.produced:
        await charge.release("empty response")
        raise EmptyResponse()
    await charge.settle(completion.get("usage"))
    return completion, charge


async def stream(
    ctx: RequestContext,
    target: ChatTarget,
    writer: StreamWriter,
    on_finish: Callable[[], Awaitable[None]] | None = None,
) -> SSEResponse:
    """Start streaming: admitted first, then the first chunk is awaited before the
    response begins, so a failure up to there is an ordinary error (and no charge)."""
    ctx.record.stream = True
    charge = await admit(ctx, target.model, target.prompt_tokens, target.reserve)
    try:
        chunks: AsyncIterator[dict[str, Any]] = target.provider.chat_stream(target.call)
        first = await first_chunk(chunks)
    except BaseException:
        await charge.release("failed before the first chunk")
        raise
    return SSEResponse(ctx, relay(ctx, first, chunks, writer, charge, on_finish))
