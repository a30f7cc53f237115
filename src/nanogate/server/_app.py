"""The composition root: :func:`create_app` wires settings into a running gateway."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import orjson
from starlette.types import Receive, Scope, Send

from nanogate.admin import Admin
from nanogate.billing import Book, Ledger
from nanogate.byok import sealer_for
from nanogate.config import ConfigError, Settings
from nanogate.core import KnownSecrets, Secrets, url_secrets
from nanogate.moderation import build_moderators
from nanogate.providers import Provider
from nanogate.providers.build import build_providers, provider_api_key
from nanogate.routing import Breakers, Catalog, Model, Speeds, StickyRoutes
from nanogate.search import search_provider
from nanogate.server._access import access_log
from nanogate.server._charging import default_limits
from nanogate.server._keycache import KeyCache
from nanogate.server._logging import mask_logs_with
from nanogate.server._memory import memory_sealer
from nanogate.server._metrics import Metrics
from nanogate.server._openapi import openapi_document
from nanogate.server._requestlog import RequestLog
from nanogate.server._router import Router
from nanogate.server._state import Clock, GatewayState, utc_now
from nanogate.server._tracing import tracing_for
from nanogate.server.console import Sessions
from nanogate.server.middleware import ErrorMiddleware, RequestContextMiddleware
from nanogate.server.routes import all_routes
from nanogate.server.x402 import build_cashier
from nanogate.storage import SQLStore, Store

log = logging.getLogger("nanogate")


class Gateway:
    """The ASGI application: lifespan for start and stop, middleware around the router."""

    def __init__(self, state: GatewayState, router: Router) -> None:
        self.state = state
        self.router = router
        state.router = router
        self._app = RequestContextMiddleware(ErrorMiddleware(router), state)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        await self._app(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.state.start()
                except Exception as exc:
                    log.exception("gateway failed to start")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.state.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def upstream_secrets(settings: Settings, env: Mapping[str, str]) -> Secrets:
    """The credentials the gateway sends upstream by configuration: each provider's key
    (inline or from ``api_key_env``; moderators use the same) and the credentials in the
    URLs of providers and payment-rail peers (see :func:`~nanogate.core.url_secrets`)."""
    values: list[str | None] = []
    for provider in settings.providers:
        try:
            values.append(provider_api_key(provider, env))
        except ConfigError:
            pass  # a provider passed in ready-made, whose variable this process lacks
        values += url_secrets(provider.base_url)
    for name in settings.x402.rails:
        rail = settings.x402.rail(name)
        values += (*url_secrets(rail.node_url), *url_secrets(rail.facilitator_url))
    search = settings.web_search
    if search.api_key_env:
        values.append(env.get(search.api_key_env))
    values += url_secrets(search.url)
    return Secrets(values)


MIN_ADMIN_TOKEN = 32


def admin_token_of(settings: Settings, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """``(token, None)`` when ``[admin] token_env`` names a variable holding a token of at
    least 32 characters; otherwise ``(None, why the admin API and console are off)``."""
    variable = settings.admin.token_env
    token = (env.get(variable) or "").strip()
    if not token:
        return None, f"set {variable} to a token of at least {MIN_ADMIN_TOKEN} characters"
    if len(token) < MIN_ADMIN_TOKEN:
        return None, f"{variable} is shorter than {MIN_ADMIN_TOKEN} characters"
    return token, None


def admin_token(settings: Settings, env: Mapping[str, str]) -> str | None:
    """The admin token, or ``None`` (no admin API, no console); a token too short to
    serve is a warning."""
    token, why = admin_token_of(settings, env)
    if token is None and (env.get(settings.admin.token_env) or "").strip():
        log.warning("the admin API and the console are off: %s", why)
    return token


def create_app(
    settings: Settings,
    *,
    store: Store | None = None,
    providers: Mapping[str, Provider] | None = None,
    clock: Clock = utc_now,
    env: Mapping[str, str] | None = None,
) -> Gateway:
    """Build the gateway for ``settings``.

    ``store`` and ``providers`` default to what the settings describe; passing
    them replaces those parts (a different database handle, an instrumented
    provider) without touching anything else. ``env`` holds the variables
    named by ``api_key_env`` (the process environment by default).

    The credentials the gateway sends upstream are masked wherever it writes: the
    log filters of this process (:func:`~nanogate.server._logging.log_config`)
    learn them here.
    """
    env = os.environ if env is None else env
    token = admin_token(settings, env)
    secrets = KnownSecrets(upstream_secrets(settings, env) | Secrets([token]))
    mask_logs_with(secrets)
    store = store if store is not None else SQLStore(settings.database.url)
    catalog = Catalog(Model.from_settings(m) for m in settings.models)
    given = dict(providers or {})
    missing = [p for p in settings.providers if p.name not in given]
    all_providers = {**build_providers(missing, env), **given}
    router = Router(all_routes())
    quoting = settings.x402.endpoints if settings.x402.enabled else ()
    limiter = None
    if settings.redis.url:
        from nanogate.billing._redis import RedisLimiter, connect

        redis = connect(settings.redis.url)
        limiter = RedisLimiter(redis, settings.redis.prefix, settings.redis.fail_open)
    ledger = Ledger(store.fast, clock, limiter, lease_idle_s=settings.server.lease_idle_s)
    request_log = RequestLog(store, settings.server.request_log_flush_s, secrets)
    book = Book(store.fast, clock)
    keys = KeyCache(store, settings.server.key_refresh_s)
    breakers = Breakers(settings.routing.breaker_failures, settings.routing.breaker_cooldown_s)
    speeds = Speeds()
    state = GatewayState(
        settings=settings,
        catalog=catalog,
        store=store,
        providers=all_providers,
        keys=keys,
        ledger=ledger,
        book=book,
        request_log=request_log,
        metrics=Metrics(dropped_log_records=lambda: request_log.dropped),
        limits=default_limits(settings.limits),
        moderators=build_moderators(settings, env),
        breakers=breakers,
        speeds=speeds,
        admin_token=token,
        tracing=tracing_for(settings.tracing),
        console=Sessions(token, settings.admin.session_ttl_s) if token else None,
        admin=Admin(
            store, book, catalog, breakers, speeds, clock, request_log.pending, keys.refresh
        )
        if token
        else None,
        sticky=StickyRoutes(settings.routing.sticky_ttl_s),
        sealer=sealer_for(settings.byok, env),
        search=search_provider(settings.web_search, env),
        memory_sealer=memory_sealer(settings.memory, env),
        access_log=access_log(settings.server.access_log),
        cashier=build_cashier(settings.x402, store.payments, clock, ledger)
        if settings.x402.enabled
        else None,
        routes=router.routes,
        openapi_document=lambda: orjson.dumps(openapi_document(router.routes, quoting)),
        clock=clock,
        secrets=secrets,
    )
    return Gateway(state, router)
