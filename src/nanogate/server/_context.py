"""The per-request context: request id, surface, timings and the request-log record."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.types import Receive, Scope

from nanogate.core import Secrets, Surface
from nanogate.routing import Model, ModelChoice
from nanogate.server._payer import AccountPayer, Payer, X402Payer
from nanogate.storage import APIKey, RequestRecord

if TYPE_CHECKING:
    from nanogate.server._state import GatewayState
    from nanogate.server.x402 import PaidRun

SCOPE_KEY = "nanogate"


class RequestHeaders(Headers):
    """A request's headers, looked up in a dict built once (Starlette's :class:`Headers`
    scans the whole list on every lookup, and a request is looked up a dozen times).
    The first of repeated headers wins, as in Starlette; ``getlist`` sees them all."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(scope=scope)
        index: dict[str, str] = {}
        for key, value in self._list:
            index.setdefault(key.decode("latin-1").lower(), value.decode("latin-1"))
        self._index = index

    def __getitem__(self, key: str) -> str:
        return self._index[key.lower()]

    def get(self, key: str, default: Any = None) -> Any:
        return self._index.get(key.lower(), default)

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._index


def query_value(scope: Scope, name: str) -> str:
    """The last value of query parameter ``name``, or ``""`` without one."""
    values = parse_qs(scope.get("query_string", b"").decode()).get(name)
    return values[-1] if values else ""


LEGACY_V1 = frozenset({"/api/v1/memory"})
"""``/api/v1/*`` paths that answer errors in the legacy envelope, as NanoGPT's do."""


def surface_for(path: str) -> Surface:
    """The error envelope a path answers in."""
    if path.startswith("/api/v1/messages"):
        return "anthropic"
    if path in LEGACY_V1:
        return "legacy"
    if path.startswith(("/api/v1/", "/api/x402/", "/api/admin/")) or not path.startswith("/api/"):
        return "openai"
    return "legacy"


@dataclass(slots=True)
class RequestContext:
    """Everything the gateway knows about one request while it runs."""

    state: GatewayState
    scope: Scope
    receive: Receive
    request_id: str
    surface: Surface
    record: RequestRecord
    started: float = field(default_factory=time.perf_counter)
    route: str = "unmatched"
    params: dict[str, str] = field(default_factory=dict)
    payer: Payer | None = None
    """Who pays, once the request is authenticated (see :mod:`nanogate.server._payer`)."""
    model: Model | None = None
    """The model the request resolved to, once it has."""
    choice: ModelChoice | None = None
    """What the request's model text asked for (its suffixes read), once resolved."""
    usage: dict[str, Any] | None = None
    """The usage a streamed answer reported, once it has."""
    logged: bool = True
    """Whether the request goes into the request log (ops routes do not)."""
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    """Headers the response carries whatever its status (inline moderation's verdict)."""
    held: Secrets | None = field(default=None, repr=False)
    """Credentials the gateway masks until the request ends (see :meth:`hold_secrets`)."""
    _headers: Headers | None = None

    @classmethod
    def start(
        cls, state: GatewayState, scope: Scope, receive: Receive, request_id: str
    ) -> RequestContext:
        path: str = scope["path"]
        client = scope.get("client")
        surface = surface_for(path)
        record = RequestRecord(
            request_id=request_id,
            created_at=state.clock(),
            surface=surface,
            method=scope["method"],
            path=path,
            client_ip=client[0] if client else None,
        )
        return cls(state, scope, receive, request_id, surface, record)

    @property
    def key(self) -> APIKey | None:
        """The request's API key, if an account pays for it."""
        payer = self.payer
        return payer.key if isinstance(payer, AccountPayer) else None

    @property
    def paid(self) -> PaidRun | None:
        """x402: the paid run of an accountless request, once its payment allows it."""
        payer = self.payer
        return payer.run if isinstance(payer, X402Payer) else None

    @property
    def headers(self) -> Headers:
        if self._headers is None:
            self._headers = RequestHeaders(self.scope)
        return self._headers

    def hold_secrets(self, values: Iterable[str]) -> None:
        """Mask ``values`` (a caller's own credentials, with BYOK) in everything the
        gateway writes (logs, request records) until this request has ended."""
        secrets = Secrets(values)
        if self.held is not None:
            secrets -= self.held  # held once per request, released once
        self.state.secrets.hold(secrets)
        self.held = secrets if self.held is None else self.held | secrets

    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000


def context_of(scope: Scope) -> RequestContext:
    ctx: RequestContext = scope[SCOPE_KEY]
    return ctx
