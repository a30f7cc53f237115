"""Steps every inference route shares: authenticate, read, resolve, check, dispatch."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from nanogate.billing import MEMORY, WEB_SEARCH, maximum_cost
from nanogate.byok import ByokOptions, byok_options
from nanogate.core import count_chat_tokens
from nanogate.errors import EmptyResponse, GatewayError, InvalidParameterValue
from nanogate.providers import ChatCall, Provider
from nanogate.routing import (
    Constraints,
    Deployment,
    Model,
    ModelChoice,
    ModelType,
    Plan,
    chain,
    constraints_from,
    parse_model,
    plan,
    with_overrides,
)
from nanogate.search import search_query
from nanogate.server._add_ons import (
    SearchAsk,
    check_room,
    check_search,
    search_ask,
    search_messages,
)
from nanogate.server._auth import authenticate, presented_key
from nanogate.server._body import read_json
from nanogate.server._byok import ByokRoute, byok_route
from nanogate.server._charging import Charge, admit_accountless, charged, produced
from nanogate.server._checks import check_chat, check_context
from nanogate.server._context import RequestContext
from nanogate.server._dispatch import dispatch, note_attempt
from nanogate.server._memory import MemoryAsk, compress, memory_ask
from nanogate.server._moderation import inline_moderation, refuse_accountless_moderation
from nanogate.server._payer import AccountPayer, Payer, X402Payer
from nanogate.server._streaming import (
    Batch,
    SSEResponse,
    StreamWriter,
    close_stream,
    first_batch,
    relay,
)
from nanogate.server._validation import validate
from nanogate.storage import APIKey

T = TypeVar("T", bound=BaseModel)


async def require_key(ctx: RequestContext) -> APIKey:
    """The request's API key, or the 401 (or 400) that says what is wrong with it.

    Requests without a valid key count against their client address's limit, so
    guessing keys is slow; past it they get 429 instead of 401.
    """
    try:
        key = authenticate(presented_key(ctx.headers), ctx.state.keys, ctx.state.clock())
    except GatewayError:
        await admit_accountless(ctx)
        refuse_accountless_moderation(ctx)
        raise
    ctx.payer = AccountPayer(key)
    return key


async def require_payer(ctx: RequestContext) -> Payer:
    """Who pays for the request: its key's account; or an x402 payment, for a request
    without credentials that x402 may price (on an endpoint that quotes, opted in when
    that is required), or for the run of a completed payment's stored request.
    Otherwise as :func:`require_key`."""
    payer = ctx.payer
    if isinstance(payer, X402Payer) and payer.run is not None:
        return payer  # a completed payment's stored request, paid for already
    cashier = ctx.state.cashier
    if not (
        cashier is not None
        and cashier.quotes(ctx.scope["method"], ctx.scope["path"])
        and cashier.opted_in(ctx.headers)
        and _no_credentials(ctx)
    ):
        return AccountPayer(await require_key(ctx))
    await admit_accountless(ctx)
    refuse_accountless_moderation(ctx)
    accountless = X402Payer()
    ctx.payer = accountless
    return accountless


def _no_credentials(ctx: RequestContext) -> bool:
    """Whether the request presents no key at all; malformed credentials are left to
    :func:`require_key`, which refuses them (and counts them) like on any route."""
    try:
        return presented_key(ctx.headers) is None
    except GatewayError:
        return False


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """A request as parsing hands it on: its JSON body, that body validated (a frozen
    schema), and what it asks of the gateway itself."""

    body: dict[str, Any]
    """The JSON body as sent: what an x402 quote prices and stores."""
    request: T
    constraints: Constraints
    """Its own routing constraints (``provider``, ``X-Provider``...)."""
    byok: ByokOptions | None
    """Its BYOK options (``x-use-byok``, ``byok``...), if it asks for BYOK."""


async def read_request(ctx: RequestContext, schema: type[T]) -> Parsed[T]:
    """The request body, read within the gateway's limits and validated against
    ``schema``."""
    server = ctx.state.settings.server
    body = await read_json(ctx.headers, ctx.receive, server.max_body_bytes, server.body_timeout_s)
    request = validate(schema, body, ctx.surface)
    constraints = constraints_from(body, ctx.headers.get("x-provider"))
    return Parsed(body, request, constraints, byok_options(ctx.headers, body))


def resolve_model(
    ctx: RequestContext, model_id: str, kind: ModelType, body: Mapping[str, Any] | None = None
) -> Model:
    """The catalogue model ``model_id`` names, checked against the key and the endpoint.

    A chat model's text may carry suffixes (:mod:`nanogate.routing._suffixes`), read
    with what the headers and ``body`` say over them; the request record keeps the
    text as sent."""
    if kind == "chat":
        choice = choose_model(ctx, model_id, body or {})
        ctx.choice = choice
        model_id = choice.model_id
    model = ctx.state.catalog.resolve(model_id, ctx.key, kind)
    ctx.model = model
    ctx.record.model = ctx.choice.sent if ctx.choice is not None else model.id
    return model


def choose_model(ctx: RequestContext, sent: str, body: Mapping[str, Any]) -> ModelChoice:
    """What ``sent`` asks for, its suffixes read and overridden by the request's headers
    and body; refused when it asks for what this gateway does not offer."""
    catalog = ctx.state.catalog
    days = ctx.state.settings.memory.default_days
    choice = parse_model(sent, lambda id_: catalog.get(id_) is not None, ctx.state.providers, days)
    if not (choice.suffixed or _asks_for_add_ons(ctx, body)):
        return choice
    suffixes = choice
    choice = with_overrides(
        choice,
        ctx.headers,
        body,
        explicit_provider=_names_provider(ctx, body),
        default_days=days,
    )
    check_search(ctx, choice, from_suffix=body.get("webSearch") is None)
    if choice.memory is not None and ctx.state.memory_sealer is None:
        raise InvalidParameterValue(
            "Context memory is not enabled on this gateway.",
            param="model" if suffixes.memory is not None else "memory",
        )
    return choice


def _names_provider(ctx: RequestContext, body: Mapping[str, Any]) -> bool:
    """Whether the request names or orders providers itself: ``X-Provider``, or a body
    ``provider`` that is a name or sets ``only``, ``order`` or ``sort`` (``ignore``,
    ``max_price`` and ``allow_fallbacks`` only narrow, and go with a routing suffix)."""
    header = ctx.headers.get("x-provider")
    if header and header.strip():
        return True
    provider = body.get("provider")
    if isinstance(provider, dict):
        return any(provider.get(name) is not None for name in ("only", "order", "sort"))
    return provider is not None


def _asks_for_add_ons(ctx: RequestContext, body: Mapping[str, Any]) -> bool:
    """Whether the request turns an add-on on or off other than by a suffix."""
    return (
        "memory" in body
        or body.get("webSearch") is not None
        or "memory" in ctx.headers
        or "memory_expiration_days" in ctx.headers
    )


GATEWAY_FIELDS = (
    "provider",
    "webSearch",
    "memory",
    "model_context_limit",
    "prompt_caching",
    "promptCaching",
    "stickyProvider",
    "stickyprovider",
    "byok",
)
"""Request fields for the gateway itself, never sent upstream."""

INTEGER_FIELDS = frozenset({"n", "max_tokens", "max_completion_tokens", "seed", "top_logprobs"})
"""Chat fields validated as integers, where ``2.0`` is ``2``: sent upstream as ``2``."""


def upstream_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` without the fields that are for the gateway itself, its integers
    written as integers."""
    return {
        k: int(v) if k in INTEGER_FIELDS and isinstance(v, float) else v
        for k, v in body.items()
        if k not in GATEWAY_FIELDS
    }


@dataclass(frozen=True, slots=True)
class ChatTarget:
    """A checked chat request and the deployments it may go to, in order."""

    model: Model
    body: dict[str, Any]
    plan: Plan
    prompt_tokens: int
    max_tokens: int | None
    request_id: str
    quoted: Mapping[str, Any]
    """The request's body as sent, which an x402 payment prices."""
    byok: ByokRoute | None = None
    choices: int = 1
    """How many choices the request asks for (``n``): each may produce ``max_tokens``."""
    echo: str = ""
    """The model as answers name it: the text the client sent, suffixes and all."""
    search: SearchAsk | None = None
    """The web search to run before dispatch, if the request asks for one."""
    memory: MemoryAsk | None = None
    """What context memory must compress before dispatch, if anything."""

    @property
    def reserve(self) -> int:
        """The most this request's inference may cost, on whichever deployment answers
        it: with what a search still to run may add to its prompt, and within the
        budget context memory will compress it to."""
        prompt = self.prompt_tokens
        if self.memory is not None:
            prompt = min(prompt, self.memory.budget)
        prompt += self.search.added_tokens if self.search else 0
        return max(
            maximum_cost(d.model, prompt, self.max_tokens, self.choices)
            for d in self.plan.candidates
        )

    @property
    def window(self) -> int:
        """The smallest context of the models the request may go to: what its prompt,
        as the add-ons make it, must fit."""
        return min(d.model.context_window for d in self.plan.candidates)

    @property
    def add_ons(self) -> dict[str, int]:
        """The paid add-ons still to run, and the most each may cost."""
        costs = {WEB_SEARCH: self.search.price_nusd} if self.search else {}
        if self.memory is not None:
            costs[MEMORY] = self.memory.max_nusd
        return costs

    def call(self, deployment: Deployment) -> ChatCall:
        """The request as ``deployment`` gets it, with the key's own credential for BYOK."""
        body = {**self.body, "model": deployment.upstream_model}
        credential = self.byok.credentials[deployment.provider] if self.byok else None
        return ChatCall(body, deployment.model, self.request_id, self.prompt_tokens, credential)


def chat_target(
    ctx: RequestContext,
    parsed: Parsed[Any],
    body: dict[str, Any],
    model: Model,
    names: Mapping[str, str] | None = None,
) -> ChatTarget:
    """Check ``body``, ``parsed``'s request in the chat dialect, against ``model`` and
    plan its deployments.

    Fallback models the request does not fit (too long, a capability missing) are
    left out of the plan. ``names`` maps chat fields to the client's own names for
    error params.
    """
    choice = ctx.choice
    remembers = choice is not None and choice.memory is not None
    prompt_tokens, max_tokens = check_chat(body, model, names, fit=not remembers)
    state = ctx.state
    deployments = []
    unfit: dict[str, str | None] = {model.id: None}  # model id → the check it fails, if any
    for deployment in chain(model, state.catalog):
        other = deployment.model
        if other.id not in unfit:
            try:
                check_chat(body, other, names, fit=not remembers)
                unfit[other.id] = None
            except GatewayError as err:
                unfit[other.id] = err.code
        code = unfit[other.id]
        if code is None:
            deployments.append(deployment)
        else:
            note_attempt(ctx, deployment, f"skipped: {code}")
    byok = byok_route(ctx, deployments, parsed.byok)
    if byok is not None:
        deployments = byok.deployments
    constraints = parsed.constraints
    if choice is not None and choice.pin is not None:
        only = frozenset({choice.pin})
        if constraints.only is not None:
            only &= constraints.only
        constraints = replace(constraints, only=only)
    if choice is not None and choice.sort is not None:
        constraints = replace(constraints, sort=choice.sort)
    remembered = state.sticky.get(ctx.key.id, model.id) if constraints.sticky and ctx.key else None
    window = min(d.model.context_window for d in deployments) if deployments else 0
    search = None
    if choice is not None and choice.web_search is not None:
        query = search_query(body["messages"], (names or {}).get("messages", "messages"))
        search = search_ask(ctx, choice, query)
        if not remembers and deployments:
            check_room(prompt_tokens, max_tokens, window)
    memory = None
    if choice is not None and choice.memory is not None:
        memory = memory_ask(
            ctx,
            choice.memory.days,
            body,
            prompt_tokens,
            window,
            max_tokens,
            limit=parsed.body.get("model_context_limit"),
            reserved=search.added_tokens if search else 0,
        )
    return ChatTarget(
        model,
        upstream_body(body),
        plan(deployments, constraints, remembered, state.speeds.get),
        prompt_tokens,
        max_tokens,
        ctx.request_id,
        parsed.body,
        byok,
        choices=int(body.get("n") or 1),
        echo=choice.sent if choice is not None else model.id,
        search=search,
        memory=memory,
    )


def provider_for(ctx: RequestContext, deployment: Deployment) -> Provider:
    return ctx.state.providers[deployment.provider]


@asynccontextmanager
async def _charged(
    ctx: RequestContext, target: ChatTarget
) -> AsyncIterator[tuple[Charge, ChatTarget]]:
    """The request admitted for the block, after its inline moderation if it asked for
    one, and with its paid add-ons run: a request its limits or balance refuse pays no
    moderation, and one the moderator flags or whose search fails, like a block that
    fails, releases its hold. The block gets the request as its add-ons made it."""
    fee = target.byok.fee_percent if target.byok else None
    async with charged(
        ctx,
        target.model,
        target.prompt_tokens,
        target.reserve,
        max_tokens=target.max_tokens,
        choices=target.choices,
        fee_percent=fee,
        quoted=target.quoted,
        add_ons=target.add_ons,
    ) as charge:
        await inline_moderation(ctx, target.body["messages"])
        yield charge, await _with_add_ons(ctx, target, charge)


async def _with_add_ons(ctx: RequestContext, target: ChatTarget, charge: Charge) -> ChatTarget:
    """``target`` with its paid add-ons run and charged: its older turns compressed by
    context memory, then the web's results in front of its last user turn. The prompt
    must then fit the model's context with the output it asks for."""
    if target.memory is None and target.search is None:
        return target
    body = target.body
    messages = body["messages"]
    if target.memory is not None:
        compressed = await compress(ctx, target.memory, messages, body.get("tools"))
        messages = compressed.messages
        if compressed.cost_nusd:
            charge.add_ons[MEMORY] = compressed.cost_nusd
    if target.search is not None:
        used = count_chat_tokens(messages, body.get("tools")) + (target.max_tokens or 0)
        messages = await search_messages(ctx, target.search, messages, target.window - used - 1)
        charge.add_ons[WEB_SEARCH] = target.search.price_nusd
    body = {**body, "messages": messages}
    prompt = check_context(body, target.model, target.max_tokens)
    charge.prompt_tokens = prompt
    return replace(target, body=body, prompt_tokens=prompt, search=None, memory=None)


async def complete(ctx: RequestContext, target: ChatTarget) -> tuple[dict[str, Any], Charge]:
    """A whole chat completion, charged: admitted first, sent to the first deployment
    that answers, settled on its usage after.

    A failure releases the hold; an answer with no content at all is
    ``empty_response`` and is not charged.
    """

    async def send(deployment: Deployment) -> tuple[dict[str, Any], float]:
        started = time.perf_counter()
        completion = await provider_for(ctx, deployment).chat(target.call(deployment))
        return completion, time.perf_counter() - started

    async with _charged(ctx, target) as (charge, target):
        (completion, took), deployment = await dispatch(
            ctx, target.plan, send, shared_health=target.byok is None
        )
        charge.model = deployment.model
        charge.produced = produced(completion, "message")
        if not charge.produced:
            raise EmptyResponse()
        await charge.settle(completion.get("usage"))
    if target.byok is None and ctx.record.output_tokens:
        ctx.state.speeds.generated(deployment.name, ctx.record.output_tokens, took)
    return completion, charge


async def _first(
    ctx: RequestContext, target: ChatTarget, deployment: Deployment
) -> tuple[Batch, AsyncIterator[Batch]]:
    """Open ``deployment``'s stream and wait for its first chunk."""
    batches = provider_for(ctx, deployment).chat_stream(target.call(deployment))
    try:
        return await first_batch(batches), batches
    except BaseException:
        await close_stream(batches)
        raise


async def stream(
    ctx: RequestContext,
    target: ChatTarget,
    writer: StreamWriter,
    on_finish: Callable[[], Awaitable[None]] | None = None,
) -> SSEResponse:
    """Start streaming: admitted first, then the first chunk is awaited before the
    response begins, so a failure up to there is an ordinary error (and no charge)
    and the next deployment can still be tried."""
    ctx.record.stream = True
    async with _charged(ctx, target) as (charge, target):
        (first, chunks), deployment = await dispatch(
            ctx, target.plan, lambda d: _first(ctx, target, d), shared_health=target.byok is None
        )
    charge.model = deployment.model
    return SSEResponse(ctx, relay(ctx, first, chunks, writer, charge, on_finish))
