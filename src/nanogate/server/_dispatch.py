"""Sending a request to its deployments in turn: fallbacks, circuit breakers, records.

Every deployment of the plan is tried in order until one answers. A deployment
whose circuit is open is skipped. A failure the client caused (a bad request, a
content filter) is returned at once; a failure of the deployment (unreachable,
5xx, 429, timeout) moves on to the next, and opens its circuit once it keeps
failing. Each attempt, skipped or made, is written into the request's record, and a
paid (x402) run is told once it reaches a provider: only such runs count against
its payment.
Callers run this before the first byte of the answer is sent, so falling back
never shows the client two answers.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from nanogate.errors import (
    AllFallbacksFailed,
    FallbackBlockedForCacheConsistency,
    GatewayError,
    ModelNotAvailable,
)
from nanogate.routing import Deployment, Plan
from nanogate.server._context import RequestContext
from nanogate.server._tracing import mark_error, span

T = TypeVar("T")


def note_attempt(
    ctx: RequestContext,
    deployment: Deployment,
    outcome: str,
    started: float | None = None,
    err: GatewayError | None = None,
) -> None:
    """Add one deployment's attempt (or why it was skipped) to the request's record."""
    entry: dict[str, object] = {
        "provider": deployment.provider,
        "model": deployment.model.id,
        "upstream_model": deployment.upstream_model,
        "outcome": outcome,
    }
    if err is not None:
        entry |= {"status": err.status, "code": err.code, "message": err.message}
    if started is not None:
        entry["ms"] = round((time.perf_counter() - started) * 1000, 3)
    ctx.record.deployments.append(entry)


def _all_failed(failures: list[tuple[Deployment, GatewayError]]) -> AllFallbacksFailed:
    attempts = "; ".join(
        f"{n}. {d.model.id} via {d.provider}: {e.code} ({e.message.rstrip('.')})"
        for n, (d, e) in enumerate(failures, 1)
    )
    waits = [e.retry_after for _, e in failures if e.retry_after is not None]
    return AllFallbacksFailed(
        f"The model and every allowed fallback failed ({len(failures)} attempts): {attempts}.",
        retry_after=min(waits) if waits else None,
    )


async def dispatch(
    ctx: RequestContext,
    plan: Plan,
    send: Callable[[Deployment], Awaitable[T]],
    *,
    shared_health: bool = True,
    remember: bool = True,
) -> tuple[T, Deployment]:
    """``send`` the request to the plan's deployments in turn; the first answer and
    the deployment that gave it, or the error that sums up the failures.

    ``shared_health=False`` (a BYOK request, on the caller's own credentials) neither
    consults nor moves the deployments' circuit breakers: one caller's quota or key
    says nothing about the deployment everyone else uses. ``remember=False`` (a call
    the gateway makes for the request, such as context memory's summary) leaves the
    request's sticky deployment as it was."""
    breakers = ctx.state.breakers if shared_health else None
    failures: list[tuple[Deployment, GatewayError]] = []
    for deployment in plan.candidates:
        name = deployment.name
        passed = breakers.enter(name) if breakers is not None else "closed"
        if passed is None:
            note_attempt(ctx, deployment, "skipped: circuit open")
            continue
        if ctx.paid is not None:
            ctx.paid.reached_upstream = True
        started = time.perf_counter()
        attributes: dict[str, str | int] = (
            {}
            if ctx.state.tracing is None
            else {
                "nanogate.deployment": name,
                "nanogate.provider": deployment.provider,
                "gen_ai.request.model": deployment.upstream_model,
                "nanogate.attempt": len(ctx.record.deployments) + 1,
            }
        )
        try:
            with span(ctx, "upstream attempt", attributes) as current:
                try:
                    answer = await send(deployment)
                except GatewayError as err:
                    mark_error(current, err.code, err.status)
                    raise
        except GatewayError as err:
            note_attempt(ctx, deployment, "failed", started, err)
            if breakers is not None:
                if err.retryable:
                    breakers.failed(name)
                    ctx.state.speeds.failed(name, time.perf_counter() - started)
                else:
                    breakers.succeeded(name)
            if not err.retryable:
                raise
            if plan.sticky:
                raise FallbackBlockedForCacheConsistency(retry_after=err.retry_after) from err
            failures.append((deployment, err))
            continue
        except BaseException:
            if breakers is not None:
                breakers.abandoned(name, passed)
            raise
        if breakers is not None:
            breakers.succeeded(name)
            ctx.state.speeds.answered(name, time.perf_counter() - started)
        note_attempt(ctx, deployment, "answered", started)
        if (
            remember
            and ctx.key is not None
            and ctx.model is not None
            and (plan.sticky or len(plan.candidates) > 1)
        ):
            ctx.state.sticky.remember(ctx.key.id, ctx.model.id, name)
        return answer, deployment
    if not failures:
        assert breakers is not None, "only breakers skip deployments"
        names = [d.name for d in plan.candidates]
        raise ModelNotAvailable(
            "Every deployment of this model is failing and resting before it is tried again.",
            retry_after=breakers.retry_after(names),
        )
    if len(failures) == 1:
        raise failures[0][1]
    raise _all_failed(failures)
