"""The paid add-ons' money over real sockets: their maximum cost is held with the
request, a balance that covers the inference but not the add-ons is refused with the
402 that names what to drop, in each surface's envelope, and an x402 quote includes
them.

``acme/small`` (a 16,384-token window here) runs on one fake upstream, the summary
model on another, and web search on a fake SearxNG. Web search costs ``SEARCH`` dollars;
memory's prices make compressing the long conversation cost a few dollars at most.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import LiveFactory
from tests.helpers import SURFACE_PATHS, assert_envelope
from tests.live.test_charging import balance
from tests.live.test_context_memory import conversation, memory_settings
from tests.x402_helpers import BODY, Peers, price_of, quote, serve_peers, x402_settings

from nanogate.config import Settings, WebSearchSettings
from nanogate.core import count_chat_tokens
from nanogate.search import max_added_tokens
from nanogate.testing import FakeSearch, FakeUpstream, ServedAioHTTP

WINDOW = 16_384


@pytest.fixture
def peers_() -> Iterator[dict[str, tuple[Any, str]]]:
    fakes: dict[str, Any] = {
        "small": FakeUpstream(reply="ok"),
        "summarizer": FakeUpstream(reply="A summary."),
        "search": FakeSearch(),
    }
    served = {name: ServedAioHTTP(fake.app()).__enter__() for name, fake in fakes.items()}
    yield {name: (fakes[name], served[name].url) for name in fakes}
    for server in served.values():
        server.__exit__(None, None, None)


def settings_for(tmp_path: Path, peers: dict[str, tuple[Any, str]], search_usd: str) -> Settings:
    settings = memory_settings(
        tmp_path,
        peers["small"][1],
        peers["summarizer"][1],
        window=WINDOW,
        input_usd_per_mtok="100",
        output_usd_per_mtok="100",
    )
    search = WebSearchSettings(url=peers["search"][1], price_usd=Decimal(search_usd), max_results=3)
    return settings.model_copy(update={"web_search": search})


def body_for(surface: str, model: str, long: bool) -> dict[str, Any]:
    messages = conversation(3, WINDOW) if long else [{"role": "user", "content": "hi"}]
    if surface == "legacy":
        return {"model": model, "messages": messages[:-1], "prompt": messages[-1]["content"]}
    if surface == "anthropic":
        system = [m for m in messages if m["role"] == "system"]
        body: dict[str, Any] = {
            "model": model,
            "messages": [m for m in messages if m["role"] != "system"],
            "max_tokens": 64,
        }
        if system:
            body["system"] = system[0]["content"]
        return body
    return {"model": model, "messages": messages, "max_tokens": 64}


CASES = [
    # (suffixes, a long conversation, search price, balance, the 402's code)
    (":online", False, "1", "0.5", "webSearch_balance_required"),
    (":memory", True, "1", "0.5", "memory_balance_required"),
    (":online:memory", True, "1", "0.5", "both_balance_required"),
    (":online:memory", True, "1", "2", "memory_balance_required"),
    (":online:memory", True, "100", "10", "webSearch_balance_required"),
    (":online", False, "1", "0.001", "insufficient_balance"),
]


@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
@pytest.mark.parametrize(("suffixes", "long", "search_usd", "funds", "code"), CASES)
def test_a_balance_short_of_the_add_ons_is_refused_with_their_code(
    serve_gateway: LiveFactory,
    tmp_path: Path,
    peers_: dict[str, tuple[Any, str]],
    surface: str,
    suffixes: str,
    long: bool,
    search_usd: str,
    funds: str,
    code: str,
) -> None:
    """With both add-ons asked: ``memory_balance_required`` if dropping memory would fit,
    else ``webSearch_balance_required`` if dropping search would, else
    ``both_balance_required``; with one asked, its own code; a balance short of the
    inference alone is ``insufficient_balance``. The body's ``requiredBalance`` includes
    the add-ons; nothing is searched, compressed, sent upstream or charged."""
    live = serve_gateway(settings_for(tmp_path, peers_, search_usd), balance=funds)
    before = balance(live)
    response = httpx.post(
        live.url + SURFACE_PATHS[surface],
        json=body_for(surface, "acme/small" + suffixes, long),
        headers=live.auth(),
        timeout=20,
    )
    body = assert_envelope(response, surface, code)
    required = Decimal(str(body["requiredBalance"]))
    assert required > Decimal(funds)
    if ":online" in suffixes:
        assert required > Decimal(search_usd)
    assert balance(live) == before
    assert peers_["search"][0].searches == []
    assert peers_["small"][0].requests == [] and peers_["summarizer"][0].requests == []


def test_a_balance_that_covers_the_add_ons_is_served(
    serve_gateway: LiveFactory, tmp_path: Path, peers_: dict[str, tuple[Any, str]]
) -> None:
    """The same long conversation with both add-ons, on a balance that covers them, is
    served: one search, and the older turns compressed in passes that each fit the
    summary model's window, the second folding its turns into the first's summary; the
    balance falls by the answer's cost."""
    live = serve_gateway(settings_for(tmp_path, peers_, "1"), balance="20")
    before = balance(live)
    response = httpx.post(
        live.url + SURFACE_PATHS["openai"],
        json=body_for("openai", "acme/small:online:memory", True),
        headers=live.auth(),
        timeout=20,
    )
    assert response.status_code == 200, response.text
    assert len(peers_["search"][0].searches) == 1
    calls = [r["body"]["messages"] for r in peers_["summarizer"][0].requests]
    assert len(calls) == 2  # the older turns exceed the summary model's window: two passes
    assert all(count_chat_tokens(c) + 200 <= 32_768 for c in calls)
    assert calls[1][1]["content"].startswith("Previous summary:\nA summary.")
    cost = Decimal(str(response.json()["x_nanogpt_pricing"]["cost"]))
    assert Decimal(before - balance(live)) / 10**9 == cost
    assert cost > 1


@pytest.fixture
def peers() -> Iterator[Peers]:
    yield from serve_peers()


def test_an_x402_quote_includes_the_web_search(
    serve_gateway: LiveFactory, tmp_path: Path, peers: Peers
) -> None:
    """Without a key, ``:online`` is quoted at the request's maximum cost with what the
    results may add to the prompt, plus the search's price."""
    search = FakeSearch()
    with ServedAioHTTP(search.app()) as served:
        settings = x402_settings(tmp_path, peers).model_copy(
            update={"web_search": WebSearchSettings(url=served.url, price_usd=Decimal("0.25"))}
        )
        live = serve_gateway(settings)
        plain = quote(live.url)
        online = quote(live.url, {**BODY, "model": BODY["model"] + ":online"})
    added = price_of(max_added_tokens(5), 0) + Decimal("0.25")
    assert Decimal(online["amountUsd"]) - Decimal(plain["amountUsd"]) == added
    assert search.searches == []
