"""The gateway's long-lived parts, built once by :func:`create_app` and shared by requests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nanogate.admin import Admin
from nanogate.billing import Book, Ledger, Limits
from nanogate.byok import Sealer
from nanogate.config import Settings
from nanogate.core import KnownSecrets
from nanogate.moderation import Moderator
from nanogate.providers import Provider
from nanogate.routing import Breakers, Catalog, Speeds, StickyRoutes
from nanogate.search import SearchProvider
from nanogate.server._access import AccessLog
from nanogate.server._keycache import KeyCache
from nanogate.server._metrics import Metrics
from nanogate.server._requestlog import RequestLog
from nanogate.server._router import Route, Router
from nanogate.server._tracing import Tracing
from nanogate.server.console import Sessions
from nanogate.server.x402 import Cashier
from nanogate.storage import Store

log = logging.getLogger("nanogate")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class GatewayState:
    settings: Settings
    catalog: Catalog
    store: Store
    providers: Mapping[str, Provider]
    keys: KeyCache
    ledger: Ledger
    book: Book
    """Accounts and what their ledger says (the routes that read them)."""
    request_log: RequestLog
    metrics: Metrics
    limits: Limits = field(default_factory=Limits)
    """Limits of keys that set none of their own."""
    moderators: Mapping[str, Moderator] = field(default_factory=dict)
    """The moderator of each provider that serves a moderation model."""
    breakers: Breakers = field(default_factory=lambda: Breakers(5, 30.0))
    """A circuit breaker per deployment."""
    sealer: Sealer | None = None
    """Opens keys' stored provider credentials (BYOK); ``None`` when BYOK is off."""
    sticky: StickyRoutes = field(default_factory=lambda: StickyRoutes(600.0))
    """The deployment that last answered each key and model (``stickyProvider``)."""
    speeds: Speeds = field(default_factory=Speeds)
    """Each deployment's recent latency and throughput, for routing by them."""
    cashier: Cashier | None = None
    """Accountless x402 payments; ``None`` when x402 is off."""
    search: SearchProvider | None = None
    """The web search provider; ``None`` when web search is off."""
    memory_sealer: Sealer | None = None
    """Seals context memory's stored summaries; ``None`` when memory is off."""
    access_log: AccessLog | None = None
    """Writes a line per request; ``None`` when ``[server] access_log`` is off."""
    admin_token: str | None = None
    """The admin token (``[admin] token_env``); ``None`` serves no admin API or console."""
    admin: Admin | None = None
    """The operations behind the admin API and the console, when they are served."""
    tracing: Tracing | None = None
    """Exports spans of requests over OTLP; ``None`` when tracing is off."""
    console: Sessions | None = None
    """Signs and checks console sessions, when the console is served."""
    router: Router | None = None
    """The route table, for running a paid request's stored route."""
    routes: tuple[Route, ...] = ()
    openapi_document: Callable[[], bytes] = lambda: b"{}"
    """Builds the OpenAPI document of ``routes``, encoded (see :meth:`openapi`)."""
    _openapi: bytes | None = None
    clock: Clock = utc_now
    secrets: KnownSecrets = field(default_factory=KnownSecrets)
    """The credentials masked in what the gateway writes: the operator's upstream ones,
    and those of BYOK requests in flight."""
    draining: bool = False
    started_at: int = field(default_factory=lambda: int(time.time()))
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def openapi(self) -> bytes:
        """The OpenAPI document, built on first use (it is not needed to start serving)."""
        if self._openapi is None:
            self._openapi = self.openapi_document()
        return self._openapi

    async def start(self) -> None:
        """Load every key, register with the ledger and release holds of stopped
        processes, then keep keys, the ledger and the request log moving."""
        await self.keys.refresh()
        await self.ledger.register()
        await self.ledger.recover()
        self._tasks = [
            asyncio.create_task(self.keys.run(), name="nanogate-keys"),
            asyncio.create_task(self.ledger.run(), name="nanogate-ledger"),
            asyncio.create_task(self.request_log.run(), name="nanogate-request-log"),
        ]
        if self.cashier is not None:
            self._tasks.append(asyncio.create_task(self.cashier.run(), name="nanogate-x402"))

    async def stop(self) -> None:
        """Stop background work, write the rest of the request log, close connections."""
        self.draining = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            await self.request_log.close()
        except Exception:
            log.exception("could not write the last request log records")
        closers = [(f"provider {name}", p.close) for name, p in self.providers.items()]
        closers += [(f"moderator {name}", m.close) for name, m in self.moderators.items()]
        if self.cashier is not None:
            closers.append(("the payment rails", self.cashier.close))
        if self.search is not None:
            closers.append(("the web search provider", self.search.close))
        closers += [("the ledger", self.ledger.close), ("the database", self.store.close)]
        if self.tracing is not None:
            tracing = self.tracing

            async def flush_spans() -> None:
                await asyncio.to_thread(tracing.shutdown)

            closers.append(("the span exporter", flush_spans))
        for what, close in closers:
            try:
                await close()
            except Exception:
                log.exception("could not close %s cleanly", what)
