"""BYOK on the request path: which deployments a request may use with the key's own
credentials, and those credentials, opened.

A BYOK request only ever reaches deployments whose provider allows BYOK and for which
the key stored a credential: it never falls back to the operator's credentials. The
credentials opened are held on the request (:meth:`RequestContext.hold_secrets`), so
nothing the gateway writes while it runs repeats them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from nanogate.byok import ByokOptions, SealError
from nanogate.errors import InvalidParameterValue, MissingAPIKey
from nanogate.routing import Deployment
from nanogate.server._context import RequestContext


@dataclass(frozen=True, slots=True)
class ByokRoute:
    """The deployments a BYOK request may try, and the credential for each provider."""

    deployments: list[Deployment]
    credentials: Mapping[str, str] = field(repr=False)
    fee_percent: Decimal


def byok_providers(ctx: RequestContext) -> frozenset[str]:
    """The providers whose deployments take a key's own credential (``byok = true``)."""
    return frozenset(p.name for p in ctx.state.settings.providers if p.byok)


def byok_route(
    ctx: RequestContext, deployments: Sequence[Deployment], options: ByokOptions | None
) -> ByokRoute | None:
    """The request's BYOK route for its ``options`` (read with its body, on every
    surface), or ``None`` when it does not ask for BYOK.

    Raises ``invalid_parameter_value`` (param ``byok``) when BYOK is off on this gateway
    or the key holds no credential for any deployment the request could use.
    """
    if options is None:
        return None
    state = ctx.state
    key = ctx.key
    if key is None:  # an accountless (x402) request: there are no stored credentials
        raise MissingAPIKey("BYOK uses the provider keys stored for an API key; send your API key.")
    if state.sealer is None:
        raise InvalidParameterValue(
            "BYOK is not enabled on this gateway (it has no [byok] secret).", param="byok"
        )
    allowed = byok_providers(ctx)
    usable = [
        d
        for d in deployments
        if d.provider in allowed
        and key.credential(d.provider) is not None
        and (options.provider is None or d.provider == options.provider)
    ]
    if not usable:
        wanted = options.provider or ", ".join(sorted({d.provider for d in deployments} & allowed))
        raise InvalidParameterValue(
            "This API key has no stored credential for "
            + (f"the provider(s) {wanted}" if wanted else "any provider that accepts BYOK")
            + " of this model. Store your API key first (POST /api/user/provider-keys).",
            param="byok",
        )
    if not options.fallbacks:
        usable = usable[:1]
    credentials: dict[str, str] = {}
    for provider in {d.provider for d in usable}:
        stored = key.credential(provider)
        assert stored is not None
        try:
            credentials[provider] = state.sealer.open(stored.sealed, key.id, provider)
        except SealError:
            raise InvalidParameterValue(
                f"Your stored API key for '{provider}' can no longer be read by this "
                "gateway; store it again.",
                param="byok",
            ) from None
    ctx.hold_secrets(credentials.values())
    return ByokRoute(usable, credentials, state.settings.byok.fee_percent)
