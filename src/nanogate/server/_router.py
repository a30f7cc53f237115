"""Routing: exact paths by dictionary lookup, ``{param}`` segments by a short scan.

Unknown paths raise ``RouteNotFound`` and known paths with another method raise
``MethodNotAllowed`` (with an ``Allow`` header), so both answer in the
surface's envelope like any other error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from nanogate.errors import MethodNotAllowed, RouteNotFound
from nanogate.server._context import RequestContext, context_of
from nanogate.server._contract import Answer, Step

Endpoint = Callable[[RequestContext], Awaitable[ASGIApp]]
"""A route handler: it returns the ASGI response to send (a Starlette ``Response``,
an ``SSEResponse``...)."""


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str
    endpoint: Endpoint
    summary: str
    request_model: type[BaseModel] | None = None
    logged: bool = True
    """Whether requests to this route go into the request log."""
    tag: str = "openai"
    answer: Answer = Answer()
    steps: tuple[Step, ...] = ()
    """What the route reads and can answer with, beyond its path and body (the OpenAPI
    document's parameters and error responses)."""
    public: bool = False
    """Whether the route answers without an API key."""
    replays: bool = False
    """Whether the route answers with a stored request's answer (an x402 complete)."""

    @property
    def documented(self) -> bool:
        """Whether the OpenAPI document describes the route: every API route, not the
        console's web pages."""
        return self.tag != "console"


class Router:
    """The ASGI app at the core: finds the route, runs its handler, sends its answer."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(routes)
        self._exact: dict[str, dict[str, Route]] = {}
        self._patterns: list[tuple[tuple[str, ...], dict[str, Route]]] = []
        for route in self.routes:
            if "{" in route.path:
                segments = tuple(route.path.split("/"))
                for known, methods in self._patterns:
                    if known == segments:
                        methods[route.method] = route
                        break
                else:
                    self._patterns.append((segments, {route.method: route}))
            else:
                self._exact.setdefault(route.path, {})[route.method] = route

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and path parameters for a request, or the 404/405 to answer."""
        methods = self._exact.get(path)
        params: dict[str, str] = {}
        if methods is None:
            methods, params = self._match_pattern(path)
        route = methods.get(method) or (methods.get("GET") if method == "HEAD" else None)
        if route is None:
            allow = sorted({*methods, *(("HEAD",) if "GET" in methods else ())})
            raise MethodNotAllowed(
                f"{method} is not allowed on {path}; allowed: {', '.join(allow)}.",
                headers={"allow": ", ".join(allow)},
            )
        return route, params

    def _match_pattern(self, path: str) -> tuple[dict[str, Route], dict[str, str]]:
        parts = path.split("/")
        for segments, methods in self._patterns:
            params = _bind(segments, parts)
            if params is not None:
                return methods, params
        raise RouteNotFound(f"No route for {path}.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ctx = context_of(scope)
        route, ctx.params = self.match(scope["method"], scope["path"])
        ctx.route = route.path
        ctx.logged = route.logged
        response = await route.endpoint(ctx)
        await response(scope, receive, send)


def _bind(segments: Sequence[str], parts: Sequence[str]) -> dict[str, str] | None:
    """Bind ``{name}`` segments; a last ``{name:path}`` takes the rest of the path."""
    if segments[-1].endswith(":path}"):
        if len(parts) < len(segments):
            return None
        rest = "/".join(parts[len(segments) - 1 :])
        if not rest:
            return None
        params = _bind(segments[:-1], parts[: len(segments) - 1])
        if params is not None:
            params[segments[-1][1:].partition(":")[0]] = rest
        return params
    if len(segments) != len(parts):
        return None
    params = {}
    for segment, part in zip(segments, parts, strict=True):
        if segment.startswith("{"):
            if not part:
                return None
            params[segment[1:-1]] = part
        elif segment != part:
            return None
    return params
