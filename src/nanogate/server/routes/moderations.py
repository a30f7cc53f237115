"""``POST /api/v1/moderations``.

The route validates its request like every other; this gateway version has no
moderator to run, so every model id answers ``model_not_found``.
"""

from __future__ import annotations

from starlette.responses import Response

from nanogate.errors import ModelNotFound
from nanogate.server._context import RequestContext
from nanogate.server.routes._inference import read_request, require_key, resolve_model
from nanogate.server.schemas import ModerationRequest


async def create_moderation(ctx: RequestContext) -> Response:
    await require_key(ctx)
    _, request = await read_request(ctx, ModerationRequest)
    if request.model is not None:
        resolve_model(ctx, request.model, "moderation")
    raise ModelNotFound("No moderation model is configured on this gateway.")
