"""Moderation in the gateway: a charged run of a moderator, and inline moderation.

Inline moderation is a preflight of the generation routes, asked for with the
``moderation`` header. The prompt (every message's text and images, as the
chat dialect has it) is moderated as one input by the chosen moderation model,
and that check is billed as a request of its own: its own request id, request
log record and ledger settlement. It counts against the key's daily limits but
not its per-second one (it is part of one client request). Then:

- flagged: 400 ``content_policy_violation`` carrying the verdict as a
  ``moderation`` object; the generation is neither run nor charged;
- clean: the generation runs and is charged as usual;
- the moderator failed: its 503; nothing is charged.

Either way, once the preflight ran, the response carries the
``X-NanoGPT-Inline-Moderation-*`` headers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from nanogate.billing import maximum_cost
from nanogate.core import new_request_id
from nanogate.errors import (
    ContentPolicyViolation,
    GatewayError,
    InlineModerationRequiresAPIKey,
    ModelNotAvailable,
    ModelNotFound,
)
from nanogate.moderation import (
    Input,
    ModerationCall,
    ModerationResult,
    Moderator,
    asks,
    check_moderatable,
    check_readable,
    prompt_input,
    requested,
    verdict_headers,
)
from nanogate.routing import Model
from nanogate.server._auth import presented_key
from nanogate.server._charging import Charge, charged
from nanogate.server._context import RequestContext
from nanogate.server._tracing import mark_error, span
from nanogate.storage import RequestRecord

INLINE_ROUTES = frozenset(
    {"/api/v1/chat/completions", "/api/v1/messages", "/api/v1/responses", "/api/talk-to-gpt"}
)
"""The routes that take the ``moderation`` header."""

_PROMPT_PARAMS = {"/api/v1/responses": "input"}
"""The request field holding the prompt, where it is not ``messages``."""


def moderation_model(ctx: RequestContext, model_id: str | None, param: str) -> Model:
    """The moderation model ``model_id`` names (``None``: the default one), checked
    against the key; errors name ``param``."""
    state = ctx.state
    if model_id is None:
        default = state.settings.moderation.default_model
        model_id = default or next((m.id for m in state.catalog if m.type == "moderation"), None)
        if model_id is None:
            raise ModelNotFound("No moderation model is configured on this gateway.", param=param)
    try:
        return state.catalog.resolve(model_id, ctx.key, "moderation")
    except GatewayError as err:
        err.param = param
        raise


def moderator_for(ctx: RequestContext, model: Model) -> Moderator:
    moderator = ctx.state.moderators.get(model.provider)
    if moderator is None:
        raise ModelNotAvailable(f"No moderator serves the model '{model.id}'.")
    return moderator


def check_inputs(ctx: RequestContext, model: Model, inputs: tuple[Input, ...], param: str) -> None:
    """``empty_moderation_input`` or ``unsupported_moderation_input``, before any charge."""
    check_moderatable(inputs, param)
    check_readable(inputs, model, moderator_for(ctx, model).kinds, param)


async def charged_moderation(
    ctx: RequestContext, model: Model, inputs: tuple[Input, ...], *, preflight: bool = False
) -> tuple[ModerationResult, Charge]:
    """Moderate ``inputs`` (already checked) as ``ctx``'s request: admitted, run, and
    settled on the usage (released, uncharged, if the moderator fails)."""
    call = ModerationCall(inputs, model, ctx.request_id)
    reserve = maximum_cost(model, call.tokens, None)
    async with charged(ctx, model, call.tokens, reserve, per_second=not preflight) as charge:
        with span(ctx, "moderation", {"nanogate.moderation.model": model.id}) as current:
            try:
                result = await moderator_for(ctx, model).moderate(call)
            except GatewayError as err:
                mark_error(current, err.code, err.status)
                raise
            if current is not None:
                current.set_attribute(
                    "nanogate.moderation.flagged", any(v.flagged for v in result.verdicts)
                )
        await charge.settle(dict(result.usage) if result.usage is not None else None)
    return result, charge


def refuse_accountless_moderation(ctx: RequestContext) -> None:
    """Raise ``inline_moderation_requires_api_key`` when a request without credentials
    asks a generation route for inline moderation (called where it would get a 401)."""
    if ctx.route not in INLINE_ROUTES or not asks(ctx.headers):
        return
    try:
        if presented_key(ctx.headers) is not None:
            return
    except GatewayError:
        return
    raise InlineModerationRequiresAPIKey()


def _preflight_context(ctx: RequestContext, model: Model) -> RequestContext:
    """The preflight's own request: a fresh id and request-log record, the same key."""
    parent = ctx.record
    request_id = new_request_id()
    record = RequestRecord(
        request_id=request_id,
        created_at=ctx.state.clock(),
        surface=parent.surface,
        method=parent.method,
        path="/api/v1/moderations",
        key_id=ctx.key.id if ctx.key else None,
        account_id=ctx.key.account_id if ctx.key else None,
        model=model.id,
        message=f"inline moderation preflight of {ctx.request_id}",
        client_ip=parent.client_ip,
    )
    return RequestContext(
        ctx.state, ctx.scope, ctx.receive, request_id, ctx.surface, record, payer=ctx.payer
    )


def _finish(child: RequestContext, logged: bool) -> None:
    record = child.record
    record.duration_ms = child.elapsed_ms()
    if record.model is not None:
        child.state.metrics.tokens(record.model, record.input_tokens, record.output_tokens)
    if logged:
        child.state.request_log.add(record)


def _violation(model: Model, verdict: Mapping[str, Any]) -> ContentPolicyViolation:
    flagged = [name for name, hit in verdict["categories"].items() if hit]
    which = f" ({', '.join(flagged)})" if flagged else ""
    return ContentPolicyViolation(
        f"The input was flagged by the moderation model '{model.id}'{which}; the request was "
        "not run. Only the moderation check was charged.",
        fields={"moderation": {"model": model.id, **verdict}},
    )


async def inline_moderation(ctx: RequestContext, messages: Iterable[Mapping[str, Any]]) -> None:
    """The preflight of a generation request whose prompt is ``messages`` (chat
    dialect): nothing unless the ``moderation`` header asks for it; raises
    ``content_policy_violation`` when the prompt is flagged."""
    asked = requested(ctx.headers)
    if asked is None:
        return
    model = moderation_model(ctx, asked.model, "moderation")
    inputs = (prompt_input(messages),)
    check_inputs(ctx, model, inputs, _PROMPT_PARAMS.get(ctx.route, "messages"))
    child = _preflight_context(ctx, model)
    try:
        result, charge = await charged_moderation(child, model, inputs, preflight=True)
        child.record.status = 200
    except GatewayError as err:
        child.record.status, child.record.code = err.status, err.code
        raise
    except Exception:
        child.record.status, child.record.code = 500, "server_error"
        raise
    finally:
        _finish(child, ctx.logged)
    verdict = result.verdicts[0]
    ctx.response_headers.extend(verdict_headers(model.id, verdict.flagged, charge.charged))
    if verdict.flagged:
        raise _violation(model, verdict.as_dict())
