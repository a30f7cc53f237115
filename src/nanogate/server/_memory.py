"""Context memory on the request path: compress what does not fit, keep it for the key.

A request with memory on whose conversation fits its budget runs as it is, and memory
costs nothing. One that does not fit holds memory's maximum cost with its inference;
once admitted, the longest summary the key stored for a prefix of the conversation is
looked up. If that summary and the turns after it fit, they are sent and memory
compresses nothing. Otherwise the older turns are compressed by ``[memory]
summary_model``, routed through the gateway's own dispatch (its deployments, breakers
and fallbacks), charged at the ``[memory]`` prices, and the new summary is stored,
sealed, for the memory's days. :func:`compress` is the compression alone, which
``POST /api/v1/memory`` serves.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from nanogate.billing import usage_tokens
from nanogate.byok import Sealer, SealError
from nanogate.config import ConfigError, MemorySettings
from nanogate.core import count_chat_tokens, count_tokens, token_cost_nano
from nanogate.errors import ContextLengthExceeded, InvalidParameterValue, ServiceUnavailable
from nanogate.memory import (
    Conversation,
    Message,
    SummaryBudget,
    chunks,
    compose,
    cut_to_tokens,
    fits,
    prefix_hashes,
    recent_start,
    split,
    summary_request,
    transcript_lines,
    transcript_tokens,
)
from nanogate.providers import ChatCall
from nanogate.routing import Constraints, Deployment, Model, chain, plan
from nanogate.server._context import RequestContext
from nanogate.server._dispatch import dispatch
from nanogate.storage._memories import StoredMemory, find_memory, save_memory

log = logging.getLogger("nanogate.memory")

MEMORY_INFO = b"nanogate context memory v1"
"""Separates memory's sealing key from BYOK's, should both use one secret."""
MIN_LIMIT = 256
"""The smallest ``model_context_limit`` memory works to."""


def memory_sealer(settings: MemorySettings, env: Mapping[str, str]) -> Sealer | None:
    """The sealer of stored summaries; ``None`` when memory is off. Memory on without a
    secret (inline or from ``secret_env``) cannot start."""
    if not settings.enabled:
        return None
    secret = settings.secret.get_secret_value() if settings.secret is not None else None
    secret = secret or env.get(settings.secret_env)
    if not secret:
        raise ConfigError(
            f"[memory] is enabled but has no secret to seal summaries with: set "
            f"{settings.secret_env} (at least 32 characters) or memory.secret"
        )
    try:
        return Sealer(secret, info=MEMORY_INFO)
    except ValueError as exc:
        raise ConfigError(f"[memory] {exc}") from None


@dataclass(frozen=True, slots=True)
class MemoryAsk:
    """A conversation memory must compress, and the most that may cost."""

    days: int
    budget: int
    """The prompt tokens the request may send upstream."""
    summary: SummaryBudget
    max_nusd: int
    summary_model: Model
    whole: bool = False
    """Compress every turn before the last (``POST /api/v1/memory``), not only what
    does not fit."""


def context_limit(limit: Any, window: int) -> int:
    """The context memory works to: ``window`` (the smallest of the models the request
    may go to), or the request's smaller ``model_context_limit``."""
    if limit is None:
        return window
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < MIN_LIMIT:
        raise InvalidParameterValue(
            f"Invalid 'model_context_limit': expected a whole number of tokens, at least "
            f"{MIN_LIMIT}.",
            param="model_context_limit",
        )
    return min(limit, window)


def prompt_budget(limit: int, max_tokens: int | None, reserved: int = 0) -> int:
    """The prompt tokens a context of ``limit`` leaves beside the output the request
    asks for (an eighth of it when it names none) and ``reserved`` (web results)."""
    return limit - (max_tokens if max_tokens is not None else limit // 8) - reserved - 1


def memory_ask(
    ctx: RequestContext,
    days: int,
    body: Mapping[str, Any],
    prompt_tokens: int,
    window: int,
    max_tokens: int | None,
    *,
    limit: Any = None,
    reserved: int = 0,
) -> MemoryAsk | None:
    """What memory must do for ``body`` (of ``prompt_tokens``) in a context of
    ``window`` tokens (or the request's ``model_context_limit``, ``limit``): nothing
    (``None``) when the conversation fits; raises ``context_length_exceeded`` when even
    its last turn does not, with the system messages and a summary beside it."""
    budget = prompt_budget(context_limit(limit, window), max_tokens, reserved)
    if prompt_tokens <= budget:
        return None
    return _ask(ctx, days, budget, split(body["messages"]), body.get("tools"))


def standalone_ask(
    ctx: RequestContext, days: int, messages: Sequence[Message], limit: int
) -> MemoryAsk:
    """What ``POST /api/v1/memory`` does: compress every turn before the last, to fit
    ``limit`` tokens."""
    return _ask(ctx, days, limit - 1, split(messages), None, whole=True)


def does_not_fit(budget: int) -> ContextLengthExceeded:
    """The 400 for a conversation memory cannot make fit ``budget`` prompt tokens."""
    return ContextLengthExceeded(
        f"The conversation does not fit the context of {budget} prompt tokens even "
        "with context memory: its system messages and last turn are too long."
    )


def memory_cost(settings: MemorySettings, read: int, wrote: int) -> int:
    """What memory charges for the summary model reading ``read`` tokens and writing
    ``wrote``, at ``[memory]``'s prices."""
    return token_cost_nano(read, settings.input_usd_per_mtok) + token_cost_nano(
        wrote, settings.output_usd_per_mtok
    )


def _ask(
    ctx: RequestContext,
    days: int,
    budget: int,
    conversation: Conversation,
    tools: Any,
    *,
    whole: bool = False,
) -> MemoryAsk:
    settings = ctx.state.settings.memory
    summary_model = ctx.state.catalog.get(settings.summary_model)
    assert summary_model is not None, "checked with the settings"
    tokens = min(settings.summary_max_tokens, summary_model.max_output_tokens, max(16, budget // 4))
    if recent_start(conversation, tools, budget, tokens, whole=whole) is None:
        raise does_not_fit(budget)
    sizes = SummaryBudget(summary_model.context_window, tokens)
    transcript = transcript_tokens(conversation.turns)
    most = memory_cost(settings, sizes.most_input(transcript), sizes.most_output(transcript))
    return MemoryAsk(days, budget, sizes, most, summary_model, whole)


@dataclass(frozen=True, slots=True)
class Compressed:
    """A conversation as memory sends it on, and what memory cost."""

    messages: list[dict[str, Any]]
    input_tokens: int = 0
    """Tokens the summary model read (0: a stored summary was reused, or nothing to do)."""
    output_tokens: int = 0
    cost_nusd: int = 0


async def _summarise(
    ctx: RequestContext, ask: MemoryAsk, previous: str | None, lines: Sequence[str]
) -> tuple[str, int, int]:
    """One summary call through the gateway's dispatch: the summary, and the input and
    output tokens it took."""
    model = ask.summary_model
    messages = summary_request(previous, lines)
    prompt = count_chat_tokens(messages)
    body = {"messages": messages, "max_tokens": ask.summary.summary_tokens, "temperature": 0}

    async def send(deployment: Deployment) -> dict[str, Any]:
        call = ChatCall(
            {**body, "model": deployment.upstream_model}, deployment.model, ctx.request_id, prompt
        )
        return await ctx.state.providers[deployment.provider].chat(call)

    deployments = plan(chain(model, ctx.state.catalog), Constraints())
    completion, _ = await dispatch(ctx, deployments, send, remember=False)
    choices = completion.get("choices") or [{}]
    text = str((choices[0].get("message") or {}).get("content") or "").strip()
    text = cut_to_tokens(text, ask.summary.summary_tokens)
    if not text:
        raise ServiceUnavailable(
            "Context memory could not compress the conversation: the summary model "
            "answered nothing. Nothing was charged; try again later."
        )
    used = usage_tokens(completion.get("usage")) or (prompt, count_tokens(text))
    return text, used[0], used[1]


async def _stored(
    ctx: RequestContext, conversation: Conversation, hashes: list[str]
) -> tuple[str | None, int]:
    """The longest summary the request's key stored for a prefix of ``conversation``,
    and how many turns it covers."""
    key, sealer = ctx.key, ctx.state.memory_sealer
    if key is None or sealer is None:
        return None, 0
    try:
        found = await ctx.state.store.fast.read(find_memory(key.id, hashes, ctx.state.clock()))
    except Exception:
        log.exception("could not read the stored summaries of key %s; compressing", key.id)
        return None, 0
    if found is None:
        return None, 0
    try:
        return sealer.open(found.sealed, key.id, found.prefix_hash), found.turns
    except SealError:
        log.warning("a stored summary of key %s does not open; compressing again", key.id)
        return None, 0


async def _store(
    ctx: RequestContext, ask: MemoryAsk, prefix_hash: str, turns: int, summary: str
) -> None:
    """Keep ``summary`` for the request's key for the memory's days (a failure to write
    it is logged: the request is served, and the next turn compresses again)."""
    key, sealer = ctx.key, ctx.state.memory_sealer
    if key is None or sealer is None:
        return
    now = ctx.state.clock()
    sealed = sealer.seal(summary, key.id, prefix_hash)
    script = save_memory(
        key.id, StoredMemory(prefix_hash, turns, sealed), now, now + timedelta(days=ask.days)
    )
    try:
        await ctx.state.store.fast.run(script)
    except Exception:
        log.exception("could not store a summary of key %s", key.id)


async def compress(
    ctx: RequestContext, ask: MemoryAsk, messages: Sequence[Mapping[str, Any]], tools: Any
) -> Compressed:
    """``messages`` within ``ask.budget``: with the key's stored summary if that fits,
    else with the older turns compressed into a new summary, which is stored."""
    conversation = split(messages)
    hashes = prefix_hashes(conversation)
    # a summary always leaves the last turn out: it is what the request is about
    summary, covered = await _stored(ctx, conversation, hashes[:-1])
    if summary is not None:
        summary = cut_to_tokens(summary, ask.summary.summary_tokens)
        reused = compose(conversation, summary, covered)
        if fits(reused, tools, ask.budget) and not (ask.whole and covered < len(hashes) - 1):
            return Compressed(reused)
    start = recent_start(
        conversation, tools, ask.budget, ask.summary.summary_tokens, whole=ask.whole
    )
    if start is None:
        raise does_not_fit(ask.budget)
    start = max(start, covered)
    lines = transcript_lines(conversation.turns[covered:start], ask.summary.chunk_tokens)
    read = wrote = 0
    groups = chunks(lines, ask.summary.chunk_tokens)
    if not groups and summary is not None:
        groups = [[]]  # a stored summary longer than this request allows: fold it again
    for group in groups:
        summary, took, gave = await _summarise(ctx, ask, summary, group)
        read, wrote = read + took, wrote + gave
    summary = summary or ""  # the turns compressed have no text at all
    cost = memory_cost(ctx.state.settings.memory, read, wrote)
    await _store(ctx, ask, hashes[start - 1], start, summary)
    return Compressed(compose(conversation, summary, start), read, wrote, min(cost, ask.max_nusd))
