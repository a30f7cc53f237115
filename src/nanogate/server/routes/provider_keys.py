"""BYOK credentials, managed by the key that owns them, in NanoGPT's shape.

``POST /api/user/provider-keys`` stores (or replaces) the calling key's credential for
one provider, ``GET`` lists what is stored (the provider and the last four characters,
never the credential), ``DELETE ?provider=...`` removes one. Credentials are sealed
with the server's secret before they reach the database.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any
from urllib.parse import parse_qs

from starlette.responses import Response

from nanogate.errors import InvalidParameterValue, MissingRequiredParameter, NotFound
from nanogate.server._byok import byok_providers
from nanogate.server._context import RequestContext
from nanogate.server._responses import json_response
from nanogate.server.routes._inference import read_request, require_key
from nanogate.server.schemas import ProviderKeyRequest
from nanogate.storage import APIKey, ProviderCredential

NO_STORE = {"cache-control": "private, no-store, max-age=0"}


def _shown(credential: ProviderCredential) -> dict[str, Any]:
    return {
        "provider": credential.provider,
        "suffix": credential.suffix,
        "updatedAt": credential.updated_at,
    }


def _byok_provider(ctx: RequestContext, provider: str) -> None:
    """Refuse a provider that does not exist or does not take keys' own credentials."""
    if ctx.state.sealer is None:
        raise InvalidParameterValue(
            "BYOK is not enabled on this gateway (it has no [byok] secret).", param="provider"
        )
    allowed = sorted(byok_providers(ctx))
    if provider not in allowed:
        raise InvalidParameterValue(
            f"The provider '{provider}' does not accept your own API key here; "
            f"providers that do: {', '.join(allowed) or 'none'}.",
            param="provider",
        )


async def _current(ctx: RequestContext, key: APIKey) -> APIKey:
    """The calling key as stored now (this worker's cache refreshed first)."""
    await ctx.state.keys.refresh()
    return ctx.state.keys.get(key.key_hash) or key


async def store_provider_key(ctx: RequestContext) -> Response:
    key = await require_key(ctx)
    request = (await read_request(ctx, ProviderKeyRequest)).request
    _byok_provider(ctx, request.provider)
    sealer = ctx.state.sealer
    assert sealer is not None
    credential = ProviderCredential(
        provider=request.provider,
        sealed=sealer.seal(request.key, key.id, request.provider),
        suffix=request.key[-4:],
        updated_at=ctx.state.clock().astimezone(UTC).isoformat(timespec="seconds"),
    )
    await ctx.state.store.set_provider_credential(key.id, credential, request.provider)
    await _current(ctx, key)
    return json_response(_shown(credential), headers=NO_STORE)


async def list_provider_keys(ctx: RequestContext) -> Response:
    key = await _current(ctx, await require_key(ctx))
    return json_response(
        {"object": "list", "data": [_shown(c) for c in key.byok]}, headers=NO_STORE
    )


async def delete_provider_key(ctx: RequestContext) -> Response:
    key = await _current(ctx, await require_key(ctx))
    query = parse_qs(ctx.scope.get("query_string", b"").decode())
    provider = (query.get("provider") or [""])[0]
    if not provider:
        raise MissingRequiredParameter(
            "Missing required parameter: 'provider' (DELETE /api/user/provider-keys?provider=...).",
            param="provider",
        )
    if key.credential(provider) is None:
        raise NotFound(f"No credential is stored for the provider '{provider}'.")
    await ctx.state.store.set_provider_credential(key.id, None, provider)
    await _current(ctx, key)
    return json_response({"provider": provider, "deleted": True}, headers=NO_STORE)
