"""Routing: exact and parametrised paths, HEAD, 404 and 405; and the envelope a path answers in."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from nanogate.errors import MethodNotAllowed, RouteNotFound
from nanogate.server._context import RequestContext, surface_for
from nanogate.server._router import Route, Router


async def endpoint(ctx: RequestContext) -> ASGIApp:
    raise AssertionError("routing tests never call endpoints")


def route(method: str, path: str) -> Route:
    return Route(method, path, endpoint, summary=f"{method} {path}")


ROUTES = [
    route("POST", "/api/v1/chat/completions"),
    route("GET", "/api/v1/models"),
    route("POST", "/api/v1/responses"),
    route("GET", "/api/v1/responses/{response_id}"),
    route("DELETE", "/api/v1/responses/{response_id}"),
    route("GET", "/api/x402/status/{payment_id}"),
    route("POST", "/api/x402/complete/{payment_id}"),
    route("GET", "/api/v1/usage/requests/{request_id}"),
    route("GET", "/files/{bucket}/{name:path}"),
    route("GET", "/healthz"),
]


@pytest.fixture
def router() -> Router:
    return Router(ROUTES)


def test_exact_route(router: Router) -> None:
    """An exact path and method find their route, with no params."""
    found, params = router.match("POST", "/api/v1/chat/completions")
    assert found.path == "/api/v1/chat/completions"
    assert found.method == "POST"
    assert params == {}


def test_param_route(router: Router) -> None:
    """A {param} segment binds the path segment."""
    found, params = router.match("GET", "/api/v1/responses/resp_123")
    assert found.path == "/api/v1/responses/{response_id}"
    assert params == {"response_id": "resp_123"}


def test_param_route_by_method(router: Router) -> None:
    """Methods on the same parametrised path reach their own routes."""
    found, params = router.match("DELETE", "/api/v1/responses/resp_123")
    assert (found.method, found.path) == ("DELETE", "/api/v1/responses/{response_id}")
    assert params == {"response_id": "resp_123"}


def test_param_does_not_cross_slashes(router: Router) -> None:
    """A plain {param} binds one segment only."""
    with pytest.raises(RouteNotFound):
        router.match("GET", "/api/v1/responses/a/b")


def test_empty_param_is_not_a_match(router: Router) -> None:
    """An empty segment does not bind a {param}."""
    with pytest.raises(RouteNotFound):
        router.match("GET", "/api/v1/responses/")


def test_path_param_captures_slashes(router: Router) -> None:
    """A last {name:path} segment takes the rest of the path, slashes included."""
    found, params = router.match("GET", "/files/b1/a/b/c.txt")
    assert found.path == "/files/{bucket}/{name:path}"
    assert params == {"bucket": "b1", "name": "a/b/c.txt"}


def test_path_param_single_segment(router: Router) -> None:
    """A {name:path} segment also takes a single segment."""
    assert router.match("GET", "/files/b1/c.txt")[1] == {"bucket": "b1", "name": "c.txt"}


def test_path_param_needs_something(router: Router) -> None:
    """A {name:path} segment does not bind an empty rest."""
    with pytest.raises(RouteNotFound):
        router.match("GET", "/files/b1/")
    with pytest.raises(RouteNotFound):
        router.match("GET", "/files/b1")


def test_head_is_served_by_get(router: Router) -> None:
    """HEAD finds the GET route, exact or parametrised."""
    assert router.match("HEAD", "/healthz")[0].method == "GET"
    found, params = router.match("HEAD", "/api/x402/status/pay_1")
    assert found.method == "GET"
    assert params == {"payment_id": "pay_1"}


def test_method_not_allowed_lists_allowed_methods(router: Router) -> None:
    """A known path with another method is 405 with an allow header (HEAD beside GET)."""
    with pytest.raises(MethodNotAllowed) as info:
        router.match("POST", "/api/v1/models")
    assert info.value.headers == {"allow": "GET, HEAD"}
    assert info.value.status == 405


def test_method_not_allowed_on_a_param_route(router: Router) -> None:
    """405 on a parametrised path lists every method of that path."""
    with pytest.raises(MethodNotAllowed) as info:
        router.match("PUT", "/api/v1/responses/resp_1")
    assert info.value.headers == {"allow": "DELETE, GET, HEAD"}


def test_method_not_allowed_without_get_has_no_head(router: Router) -> None:
    """A POST-only path does not advertise HEAD, and HEAD on it is 405."""
    with pytest.raises(MethodNotAllowed) as info:
        router.match("GET", "/api/v1/chat/completions")
    assert info.value.headers == {"allow": "POST"}
    with pytest.raises(MethodNotAllowed):
        router.match("HEAD", "/api/v1/chat/completions")


@pytest.mark.parametrize(
    "path",
    ["/", "/api/v1/chat", "/api/v1/chat/completions/", "/api/v2/models", "/API/v1/models", ""],
)
def test_unknown_path(router: Router, path: str) -> None:
    """Paths no route has are 404 route-not-found."""
    with pytest.raises(RouteNotFound) as info:
        router.match("GET", path)
    assert info.value.code == "not_found"


def test_routes_are_kept_in_order(router: Router) -> None:
    """The router keeps every route it was given, in order (for the OpenAPI document)."""
    assert router.routes == tuple(ROUTES)


# Surfaces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "surface"),
    [
        ("/api/v1/messages", "anthropic"),
        ("/api/v1/messages/count_tokens", "anthropic"),
        ("/api/v1/chat/completions", "openai"),
        ("/api/v1/responses/resp_1", "openai"),
        ("/api/v1/models", "openai"),
        ("/api/v1/x402/endpoints", "openai"),
        ("/api/v1/", "openai"),
        ("/healthz", "openai"),
        ("/metrics", "openai"),
        ("/", "openai"),
        ("/nope", "openai"),
        ("/api/talk-to-gpt", "legacy"),
        ("/api/check-balance", "legacy"),
        ("/api/models", "legacy"),
        ("/api/v2/anything", "legacy"),
    ],
)
def test_surface_for(path: str, surface: str) -> None:
    """/api/v1/messages* is Anthropic, other /api/v1/* and non-/api OpenAI, other /api/* legacy."""
    assert surface_for(path) == surface


@pytest.mark.parametrize("path", ["/api/x402/status/pay_1", "/api/x402/complete/pay_1"])
def test_x402_paths_answer_in_the_openai_envelope(path: str) -> None:
    """The x402 status and complete endpoints, outside /api/v1, still use the OpenAI envelope."""
    assert surface_for(path) == "openai"
