"""Steps every inference route shares: authenticate, read, resolve, check, dispatch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from nanogate.providers import ChatCall, Provider
from nanogate.routing import Model, ModelType
from nanogate.server._auth import authenticate, presented_key
from nanogate.server._body import read_json
from nanogate.server._checks import check_chat
from nanogate.server._context import RequestContext
from nanogate.server._streaming import SSEResponse, StreamWriter, first_chunk, relay
from nanogate.server._validation import validate
from nanogate.storage import APIKey

T = TypeVar("T", bound=BaseModel)


def require_key(ctx: RequestContext) -> APIKey:
    """The request's API key, or the 401 (or 400) that says what is wrong with it."""
    ctx.key = authenticate(presented_key(ctx.headers), ctx.state.keys, ctx.state.clock())
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


def chat_target(
    ctx: RequestContext,
    body: dict[str, Any],
    model: Model,
    names: Mapping[str, str] | None = None,
) -> ChatTarget:
    """Check a chat-dialect body against ``model`` and address it to its deployment.

    ``names`` maps chat fields to the client's own names for error params.
    """
    prompt_tokens = check_chat(body, model, names)
    upstream = {**body, "model": model.upstream_model}
    call = ChatCall(upstream, model, ctx.request_id, prompt_tokens)
    return ChatTarget(model, ctx.state.providers[model.provider], call, prompt_tokens)


async def complete(ctx: RequestContext, target: ChatTarget) -> dict[str, Any]:
    """A whole chat completion, with its usage noted on the request record."""
    completion = await target.provider.chat(target.call)
    ctx.note_usage(completion.get("usage"))
    return completion


async def stream(
    ctx: RequestContext,
    target: ChatTarget,
    writer: StreamWriter,
    on_finish: Callable[[], Awaitable[None]] | None = None,
) -> SSEResponse:
    """Start streaming: the first chunk is awaited before the response begins."""
    ctx.record.stream = True
    chunks: AsyncIterator[dict[str, Any]] = target.provider.chat_stream(target.call)
    first = await first_chunk(chunks)
    return SSEResponse(ctx, relay(ctx, first, chunks, writer, on_finish))
