"""Operations: liveness, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

from starlette.responses import Response

from nanogate.server._context import RequestContext
from nanogate.server._metrics import CONTENT_TYPE
from nanogate.server._responses import json_response


async def healthz(ctx: RequestContext) -> Response:
    """The process is up and answering."""
    return json_response({"status": "ok"})


async def readyz(ctx: RequestContext) -> Response:
    """The gateway can serve: not draining, database reachable, keys loaded."""
    state = ctx.state
    problem = None
    if state.draining:
        problem = "draining"
    elif not state.keys.healthy:
        problem = "api keys could not be refreshed from the database"
    else:
        try:
            await state.store.ping()
        except Exception:
            problem = "database unreachable"
    if problem is not None:
        return json_response({"status": "unavailable", "reason": problem}, 503)
    return json_response({"status": "ready"})


async def metrics(ctx: RequestContext) -> Response:
    return Response(ctx.state.metrics.render(), 200, media_type=CONTENT_TYPE)


async def openapi(ctx: RequestContext) -> Response:
    """The OpenAPI document, built once."""
    return Response(ctx.state.openapi(), 200, media_type="application/json")
