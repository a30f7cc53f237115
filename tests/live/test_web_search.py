"""Web search over real sockets: a fake SearxNG and a fake Tavily-shaped API on loopback,
a fake upstream that records the prompts it gets, and the gateway between them.

``acme/chat`` runs on the fake upstream. ``:online`` (or body ``webSearch``) searches
the last user turn before generation: the results, URLs included, reach the upstream's
prompt on every surface, streaming included; the search is charged once, at the
configured price; a failing search is 503 ``service_unavailable`` with nothing charged.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope, make_settings, written_record
from tests.live.test_charging import balance

from nanogate.config import Settings
from nanogate.core import count_chat_tokens
from nanogate.testing import FakeSearch, FakeUpstream, ServedAioHTTP, result_url

QUESTION = "who maintains uvicorn"
PRICE = Decimal("0.006")
DEEP_PRICE = Decimal("0.06")
TAVILY_KEY_ENV = "NANOGATE_TEST_TAVILY_KEY"


@pytest.fixture
def search() -> Iterator[tuple[FakeSearch, str]]:
    fake = FakeSearch(api_key="tvly-test-key")
    with ServedAioHTTP(fake.app()) as served:
        yield fake, served.url


@pytest.fixture
def upstream() -> Iterator[tuple[FakeUpstream, str]]:
    fake = FakeUpstream(reply="Uvicorn is maintained by Encode [1].")
    with ServedAioHTTP(fake.app()) as served:
        yield fake, served.url


def search_settings(
    tmp_path: Path, upstream_url: str, search_url: str, **web_search: Any
) -> Settings:
    base = make_settings(tmp_path).model_dump()
    return Settings.model_validate(
        {
            **base,
            "providers": [
                *base["providers"],
                {"name": "acme", "kind": "openai", "base_url": upstream_url + "/v1"},
            ],
            "models": [
                *base["models"],
                {
                    "id": "acme/chat",
                    "provider": "acme",
                    "upstream_model": "chat-1",
                    "capabilities": ["streaming"],
                    "input_usd_per_mtok": "1",
                    "output_usd_per_mtok": "2",
                },
                {
                    "id": "acme/tiny",
                    "provider": "acme",
                    "upstream_model": "tiny-1",
                    "context_window": 1200,
                    "max_output_tokens": 256,
                },
                {
                    "id": "acme/short",
                    "provider": "acme",
                    "upstream_model": "short-1",
                    "context_window": 2500,
                    "max_output_tokens": 256,
                },
            ],
            "web_search": {
                "provider": "searxng",
                "url": search_url,
                "price_usd": str(PRICE),
                "deep_price_usd": str(DEEP_PRICE),
                "max_results": 3,
                "timeout_s": 1.0,
                **web_search,
            },
        }
    )


@pytest.fixture
def gateway(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    upstream: tuple[FakeUpstream, str],
    search: tuple[FakeSearch, str],
) -> Live:
    return serve_gateway(search_settings(tmp_path, upstream[1], search[1]))


def body_for(surface: str, model: str, *, stream: bool = False) -> dict[str, Any]:
    if surface == "legacy":
        return {"model": model, "prompt": QUESTION}
    if surface == "responses":
        return {"model": model, "input": QUESTION, "stream": stream}
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": QUESTION}],
        "max_tokens": 32,
        "stream": stream,
    }
    return body


PATHS = {**SURFACE_PATHS, "responses": "/api/v1/responses"}


def ask(live: Live, surface: str, model: str) -> httpx.Response:
    """A request for ``model`` on ``surface``, with the live gateway's key."""
    return httpx.post(
        live.url + PATHS[surface], json=body_for(surface, model), headers=live.auth(), timeout=10
    )


def last_prompt(fake: FakeUpstream) -> str:
    """The text of the last user turn the upstream was sent."""
    messages = fake.requests[-1]["body"]["messages"]
    content = next(m for m in reversed(messages) if m["role"] == "user")["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return str(content)


def cost_of(response: httpx.Response, surface: str) -> Decimal:
    """What the answer says it was charged (one whole answer, or a stream's last event)."""
    if surface == "legacy":
        trailer = response.text.split("<NanoGPT>")[1].removesuffix("</NanoGPT>")
        return Decimal(str(orjson.loads(trailer)["cost"]))
    if response.headers["content-type"].startswith("text/event-stream"):
        priced = [
            orjson.loads(line[6:])
            for line in response.text.splitlines()
            if line.startswith("data: {") and "x_nanogpt_pricing" in line
        ]
        return Decimal(str(priced[-1]["x_nanogpt_pricing"]["cost"]))
    return Decimal(str(response.json()["x_nanogpt_pricing"]["cost"]))


@pytest.mark.parametrize("shape", ["searxng", "tavily"])
@pytest.mark.parametrize(
    ("surface", "stream"),
    [
        ("openai", False),
        ("openai", True),
        ("responses", False),
        ("responses", True),
        ("anthropic", False),
        ("anthropic", True),
        ("legacy", False),
    ],
)
def test_online_results_reach_the_upstream_prompt_and_the_search_is_charged_once(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    upstream: tuple[FakeUpstream, str],
    search: tuple[FakeSearch, str],
    monkeypatch: pytest.MonkeyPatch,
    shape: str,
    surface: str,
    stream: bool,
) -> None:
    """``acme/chat:online`` searches once (SearxNG's JSON API, or the Tavily shape with
    its key) for the last user turn; the upstream's prompt holds every result's title
    and URL and the question after them; the answer names the model as sent; the
    balance falls by the answer's cost, which includes the search's price, and the
    request record lists the search at that price."""
    monkeypatch.setenv(TAVILY_KEY_ENV, "tvly-test-key")
    options = {"provider": "tavily", "api_key_env": TAVILY_KEY_ENV} if shape == "tavily" else {}
    gateway = serve_gateway(search_settings(tmp_path, upstream[1], search[1], **options))
    fake_upstream, fake_search = upstream[0], search[0]
    before = balance(gateway)
    response = httpx.post(
        gateway.url + PATHS[surface],
        json=body_for(surface, "acme/chat:online", stream=stream),
        headers=gateway.auth(),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    assert [s.query for s in fake_search.searches] == [QUESTION]
    assert fake_search.searches[0].shape == shape
    prompt = last_prompt(fake_upstream)
    for n in (1, 2, 3):
        assert result_url(QUESTION, n) in prompt
        assert f"Result {n} about {QUESTION}" in prompt
    assert prompt.endswith(QUESTION)
    cost = cost_of(response, surface)
    assert cost > PRICE
    assert Decimal(before - balance(gateway)) / 10**9 == cost
    record = written_record(gateway.settings.database.url, response.headers["x-request-id"])
    assert record.add_ons == {"webSearch": int(PRICE * 10**9)}
    assert record.model == "acme/chat:online"
    if surface in ("openai", "anthropic") and not stream:
        assert response.json()["model"] == "acme/chat:online"


def test_the_body_web_search_object_turns_search_on_at_depth_deep(
    gateway: Live, upstream: tuple[FakeUpstream, str], search: tuple[FakeSearch, str]
) -> None:
    """Body ``webSearch: {enabled: true, depth: "deep"}`` searches without a suffix, reads
    SearxNG's second page as well, and costs ``deep_price_usd``; the gateway's own field
    is not sent upstream."""
    body = {**body_for("openai", "acme/chat"), "webSearch": {"enabled": True, "depth": "deep"}}
    before = balance(gateway)
    response = httpx.post(
        gateway.url + PATHS["openai"], json=body, headers=gateway.auth(), timeout=10
    )
    assert response.status_code == 200, response.text
    assert [s.depth for s in search[0].searches] == ["page 1", "page 2"]
    prompt = last_prompt(upstream[0])
    assert all(result_url(QUESTION, n) in prompt for n in range(1, 7))
    assert "webSearch" not in upstream[0].requests[-1]["body"]
    charged = Decimal(before - balance(gateway)) / 10**9
    assert charged == cost_of(response, "openai") and charged > DEEP_PRICE
    record = written_record(gateway.settings.database.url, response.headers["x-request-id"])
    assert record.add_ons == {"webSearch": int(DEEP_PRICE * 10**9)}


def test_web_search_false_in_the_body_wins_over_the_suffix(
    gateway: Live, upstream: tuple[FakeUpstream, str], search: tuple[FakeSearch, str]
) -> None:
    """``webSearch: false`` turns off the ``:online`` of the model: no search, no charge
    for one, and the prompt goes up as sent."""
    body = {**body_for("openai", "acme/chat:online"), "webSearch": False}
    response = httpx.post(
        gateway.url + PATHS["openai"], json=body, headers=gateway.auth(), timeout=10
    )
    assert response.status_code == 200, response.text
    assert search[0].searches == []
    assert last_prompt(upstream[0]) == QUESTION
    record = written_record(gateway.settings.database.url, response.headers["x-request-id"])
    assert record.add_ons is None


@pytest.mark.parametrize("fault", ["status", "garbled", "hang"])
@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
def test_a_failing_search_is_503_and_charges_nothing(
    gateway: Live,
    upstream: tuple[FakeUpstream, str],
    search: tuple[FakeSearch, str],
    surface: str,
    fault: Any,
) -> None:
    """A search service that answers 500, garbage, or nothing within ``timeout_s`` makes
    the request 503 ``service_unavailable`` in the surface's envelope; the upstream is
    never asked and the balance is what it was."""
    search[0].fail_next(fault)
    before = balance(gateway)
    response = ask(gateway, surface, "acme/chat:online")
    assert_envelope(response, surface, "service_unavailable")
    assert "Web search unavailable" in response.text
    assert upstream[0].requests == []
    assert balance(gateway) == before


def test_a_failing_search_before_a_stream_is_an_ordinary_503(
    gateway: Live, upstream: tuple[FakeUpstream, str], search: tuple[FakeSearch, str]
) -> None:
    """The search runs before the stream begins, so its failure is a plain JSON 503, not
    an event in a stream that has started."""
    search[0].fail_next("status", 502)
    before = balance(gateway)
    response = httpx.post(
        gateway.url + PATHS["openai"],
        json=body_for("openai", "acme/chat:online", stream=True),
        headers=gateway.auth(),
        timeout=10,
    )
    assert_envelope(response, "openai", "service_unavailable")
    assert balance(gateway) == before and upstream[0].requests == []


def test_the_tavily_shape_carries_its_key_and_depth(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    upstream: tuple[FakeUpstream, str],
    search: tuple[FakeSearch, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With ``provider = "tavily"`` the gateway POSTs the Tavily shape with the key of
    ``api_key_env`` as a bearer token and ``search_depth: advanced`` for ``-deep``; the
    results reach the prompt. A wrong key is a 503 that names no key."""
    monkeypatch.setenv(TAVILY_KEY_ENV, "tvly-test-key")
    settings = search_settings(
        tmp_path, upstream[1], search[1], provider="tavily", api_key_env=TAVILY_KEY_ENV
    )
    live = serve_gateway(settings)
    response = ask(live, "openai", "acme/chat:online/tavily-deep")
    assert response.status_code == 200, response.text
    assert [(s.shape, s.depth) for s in search[0].searches] == [("tavily", "advanced")]
    assert result_url(QUESTION, 3) in last_prompt(upstream[0])
    search[0].api_key = "tvly-another-key"
    before = balance(live)
    refused = ask(live, "openai", "acme/chat:online")
    assert_envelope(refused, "openai", "service_unavailable")
    assert "credentials" in refused.text and "tvly" not in refused.text
    assert balance(live) == before


def test_another_search_provider_named_is_refused(
    gateway: Live, upstream: tuple[FakeUpstream, str], search: tuple[FakeSearch, str]
) -> None:
    """``:online/linkup`` names a search provider this gateway does not have: 400
    ``invalid_parameter_value`` on ``model``, before anything is searched or charged."""
    response = ask(gateway, "openai", "acme/chat:online/linkup")
    error = assert_envelope(response, "openai", "invalid_parameter_value")
    assert error["error"]["param"] == "model" and "searxng" in error["error"]["message"]
    assert search[0].searches == [] and upstream[0].requests == []


def test_the_request_billing_lookup_lists_the_search(
    gateway: Live, upstream: tuple[FakeUpstream, str], search: tuple[FakeSearch, str]
) -> None:
    """``GET /api/v1/usage/requests/{id}`` shows the search among the add-ons, and its
    ``cost`` includes it."""
    response = ask(gateway, "openai", "acme/chat:online")
    request_id = response.headers["x-request-id"]
    written_record(gateway.settings.database.url, request_id)
    billing = httpx.get(
        f"{gateway.url}/api/v1/usage/requests/{request_id}", headers=gateway.auth(), timeout=10
    ).json()
    assert {k: Decimal(v) for k, v in billing["add_ons"].items()} == {"webSearch": PRICE}
    assert Decimal(billing["cost"]) == cost_of(response, "openai") > PRICE


def test_a_context_with_no_room_for_results_is_refused_before_searching(
    gateway: Live, upstream: tuple[FakeUpstream, str], search: tuple[FakeSearch, str]
) -> None:
    """A model whose context cannot hold even one result beside the prompt and the
    output is 400 ``context_length_exceeded`` before anything is searched or charged:
    no search runs for a request that cannot use it."""
    before = balance(gateway)
    response = ask(gateway, "openai", "acme/tiny:online")
    error = assert_envelope(response, "openai", "context_length_exceeded")
    assert "no room for web search results" in error["error"]["message"]
    assert search[0].searches == [] and upstream[0].requests == []
    assert balance(gateway) == before


def test_only_the_results_that_fit_the_context_are_added(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    upstream: tuple[FakeUpstream, str],
) -> None:
    """Long results that would not all fit a small context are added first to last
    while they fit: the upstream gets a prompt within the model's context, with the
    first result and without the last."""
    long_results = FakeSearch(snippet_words=300, results=20)
    with ServedAioHTTP(long_results.app()) as served:
        live = serve_gateway(search_settings(tmp_path, upstream[1], served.url, max_results=20))
        response = ask(live, "openai", "acme/short:online")
    assert response.status_code == 200, response.text
    prompt = last_prompt(upstream[0])
    assert result_url(QUESTION, 1) in prompt and result_url(QUESTION, 20) not in prompt
    sent = upstream[0].requests[-1]["body"]
    assert count_chat_tokens(sent["messages"]) + 32 <= 2500
