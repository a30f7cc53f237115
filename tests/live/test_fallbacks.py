"""Fallbacks over real sockets: three fake upstreams, each a provider of the same chain.

``acme/chat`` runs on provider ``one`` and, as a second deployment, on ``two``; its
fallback model ``acme/backup`` runs on ``three`` at a higher price. Every upstream is
a real HTTP server on loopback whose faults are injected per request.
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
from nanogate.core import format_usd
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP

CHAT = "/api/v1/chat/completions"
BODY: dict[str, Any] = {
    "model": "acme/chat",
    "messages": [{"role": "user", "content": "hi"}],
    "max_tokens": 16,
}
NAMES = ("one", "two", "three")


@pytest.fixture
def upstreams() -> Iterator[dict[str, tuple[FakeUpstream, str]]]:
    fakes = {name: FakeUpstream(reply=f"Hello from {name}.") for name in NAMES}
    served = {name: ServedAioHTTP(fake.app()).__enter__() for name, fake in fakes.items()}
    yield {name: (fakes[name], served[name].url) for name in NAMES}
    for server in served.values():
        server.__exit__(None, None, None)


def chain_settings(
    tmp_path: Path, upstreams: dict[str, tuple[FakeUpstream, str]], **routing: Any
) -> Settings:
    base = make_settings(tmp_path).model_dump()
    providers = [
        {"name": name, "kind": "openai", "base_url": url + "/v1", "timeout_s": 1.0}
        for name, (_, url) in upstreams.items()
    ]
    models = [
        {
            "id": "acme/chat",
            "provider": "one",
            "upstream_model": "chat-1",
            "deployments": [{"provider": "two", "upstream_model": "chat-2"}],
            "fallbacks": ["acme/backup"],
            "capabilities": ["streaming"],
            "input_usd_per_mtok": "1",
            "output_usd_per_mtok": "2",
        },
        {
            "id": "acme/backup",
            "provider": "three",
            "upstream_model": "backup-3",
            "capabilities": ["streaming"],
            "input_usd_per_mtok": "10",
            "output_usd_per_mtok": "20",
        },
    ]
    return Settings.model_validate(
        {
            **base,
            "providers": [*base["providers"], *providers],
            "models": [*base["models"], *models],
            "routing": {**base["routing"], **routing},
        }
    )


@pytest.fixture
def gateway(
    serve_gateway: LiveFactory, tmp_path: Path, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> Live:
    return serve_gateway(chain_settings(tmp_path, upstreams))


def calls(upstreams: dict[str, tuple[FakeUpstream, str]]) -> dict[str, list[str]]:
    """The upstream model each fake was asked for, in order."""
    return {
        name: [r["body"]["model"] for r in fake.requests] for name, (fake, _) in upstreams.items()
    }


def post(live: Live, body: dict[str, Any] = BODY, **headers: str) -> httpx.Response:
    return httpx.post(live.url + CHAT, json=body, headers={**live.auth(), **headers}, timeout=10)


def test_the_third_deployment_answers_when_the_first_two_fail(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """A chain of three deployments whose first two fail (a 503, a reset connection)
    returns the third's answer, charged at the price of the model that answered; the
    request's record lists all three attempts."""
    upstreams["one"][0].inject(Fault.status_error(503))
    upstreams["two"][0].inject(Fault.reset())
    before = balance(gateway)
    response = post(gateway)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["choices"][0]["message"]["content"] == "Hello from three."
    assert calls(upstreams) == {"one": ["chat-1"], "two": ["chat-2"], "three": ["backup-3"]}
    usage = answer["usage"]
    expected = (usage["prompt_tokens"] * 10 + usage["completion_tokens"] * 20) * 1000
    assert Decimal(str(answer["x_nanogpt_pricing"]["cost"])) == Decimal(format_usd(expected, 0))
    assert before - balance(gateway) == expected

    record = written_record(gateway.settings.database.url, response.headers["x-request-id"])
    attempts = [(d["provider"], d["upstream_model"], d["outcome"]) for d in record.deployments]
    assert attempts == [
        ("one", "chat-1", "failed"),
        ("two", "chat-2", "failed"),
        ("three", "backup-3", "answered"),
    ]
    assert [d.get("code") for d in record.deployments] == [
        "service_unavailable",
        "service_unavailable",
        None,
    ]


def test_every_failure_is_all_fallbacks_failed_listing_each_attempt(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """When every deployment fails, the client gets 503 ``all_fallbacks_failed`` whose
    message names each attempt and why it failed, the shortest upstream Retry-After,
    and nothing is charged."""
    upstreams["one"][0].inject(Fault.status_error(503))
    upstreams["two"][0].inject(Fault.status_error(429, retry_after=7))
    upstreams["three"][0].inject(Fault.status_error(500))
    before = balance(gateway)
    response = post(gateway)
    body = assert_envelope(response, "openai", "all_fallbacks_failed")
    message = body["error"]["message"]
    for expected in (
        "3 attempts",
        "acme/chat via one: service_unavailable",
        "acme/chat via two: rate_limit_exceeded",
        "acme/backup via three: service_unavailable",
    ):
        assert expected in message, message
    assert "127.0.0.1" not in message
    assert response.headers["retry-after"] == "7"
    assert balance(gateway) == before


def test_a_failure_the_client_caused_is_not_retried_elsewhere(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """An upstream that says the prompt is too long answers for the whole chain: the
    client gets ``context_length_exceeded`` and no other deployment is called."""
    upstreams["one"][0].inject(
        Fault.status_error(400, message="too many tokens", code="context_length_exceeded")
    )
    assert_envelope(post(gateway), "openai", "context_length_exceeded")
    assert calls(upstreams) == {"one": ["chat-1"], "two": [], "three": []}


def test_a_stream_falls_back_before_its_first_byte_only(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """A stream whose deployment fails before the first chunk is served by the next one;
    once chunks have been sent, a failure ends the stream in the error frame and no
    other deployment is tried."""
    upstreams["one"][0].inject(Fault.reset())
    body = {**BODY, "stream": True}
    with httpx.stream("POST", gateway.url + CHAT, json=body, headers=gateway.auth()) as response:
        assert response.status_code == 200
        text = response.read().decode()
    assert "Hello" in text and "from" in text and "two" in text
    assert '"finish_reason":"error"' not in text and text.rstrip().endswith("data: [DONE]")
    assert calls(upstreams)["two"] == ["chat-2"]

    upstreams["one"][0].inject(Fault.cut(after=2))
    with httpx.stream("POST", gateway.url + CHAT, json=body, headers=gateway.auth()) as response:
        text = response.read().decode()
    assert '"finish_reason":"error"' in text and text.rstrip().endswith("data: [DONE]")
    assert calls(upstreams) == {"one": ["chat-1", "chat-1"], "two": ["chat-2"], "three": []}


def test_allow_fallbacks_false_returns_the_first_deployments_error(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """``provider.allow_fallbacks: false`` tries the first deployment only and returns
    its own error."""
    upstreams["one"][0].inject(Fault.status_error(503, retry_after=3))
    response = post(gateway, {**BODY, "provider": {"allow_fallbacks": False}})
    assert_envelope(response, "openai", "service_unavailable")
    assert response.headers["retry-after"] == "3"
    assert calls(upstreams) == {"one": ["chat-1"], "two": [], "three": []}


def test_x_provider_and_provider_only_choose_the_deployment(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """``X-Provider`` sends the request to that provider alone; ``provider.only`` naming
    no provider of the chain is the 400 ``no_fallback_available``; the gateway's own
    fields never reach the upstream."""
    response = post(gateway, **{"X-Provider": "three"})
    assert response.json()["choices"][0]["message"]["content"] == "Hello from three."
    assert calls(upstreams) == {"one": [], "two": [], "three": ["backup-3"]}
    assert "provider" not in upstreams["three"][0].requests[0]["body"]

    response = post(gateway, {**BODY, "provider": {"only": ["elsewhere"]}})
    body = assert_envelope(response, "openai", "no_fallback_available")
    assert body["error"]["param"] == "provider" and "elsewhere" in body["error"]["message"]


def test_sticky_provider_blocks_fallback_for_cache_consistency(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """A ``stickyProvider`` request goes where the key's last answer came from; when that
    deployment fails, the client gets 503 ``fallback_blocked_for_cache_consistency``
    with ``status`` inside ``error``, and no other deployment is tried."""
    upstreams["one"][0].inject(Fault.status_error(503))
    assert post(gateway).status_code == 200  # answered by two
    sticky = {**BODY, "prompt_caching": {"stickyProvider": True}}
    assert post(gateway, sticky).json()["choices"][0]["message"]["content"] == "Hello from two."
    upstreams["two"][0].inject(Fault.status_error(502))
    response = post(gateway, sticky)
    body = assert_envelope(response, "openai", "fallback_blocked_for_cache_consistency")
    assert body["error"]["status"] == 503
    assert calls(upstreams) == {"one": ["chat-1"], "two": ["chat-2"] * 3, "three": []}
    assert "prompt_caching" not in upstreams["two"][0].requests[-1]["body"]


def test_an_open_circuit_skips_the_deployment(
    serve_gateway: LiveFactory, tmp_path: Path, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """After ``breaker_failures`` consecutive failures a deployment is skipped without
    being called; when every deployment rests, the answer is 503
    ``model_not_available`` with a Retry-After until the first trial."""
    live = serve_gateway(
        chain_settings(tmp_path, upstreams, breaker_failures=2, breaker_cooldown_s=60)
    )
    only_one = {**BODY, "provider": {"only": ["one"]}}
    upstreams["one"][0].inject(Fault.status_error(503), Fault.status_error(503))
    for _ in range(2):
        assert_envelope(post(live, only_one), "openai", "service_unavailable")
    response = post(live, only_one)
    assert_envelope(response, "openai", "model_not_available")
    assert 58 <= int(response.headers["retry-after"]) <= 60
    assert len(upstreams["one"][0].requests) == 2

    response = post(live)
    assert response.json()["choices"][0]["message"]["content"] == "Hello from two."
    assert len(upstreams["one"][0].requests) == 2, "the open circuit was skipped"
    outcomes = [
        d["outcome"]
        for d in written_record(
            live.settings.database.url, response.headers["x-request-id"]
        ).deployments
    ]
    assert outcomes == ["skipped: circuit open", "answered"]


def test_embeddings_fall_back_too(
    serve_gateway: LiveFactory, tmp_path: Path, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """An embeddings request moves to the model's next deployment when the first fails."""
    settings = chain_settings(tmp_path, upstreams).model_dump()
    settings["models"] = [
        *settings["models"],
        {
            "id": "acme/embed",
            "type": "embedding",
            "provider": "one",
            "deployments": [{"provider": "two"}],
            "dimensions": 8,
        },
    ]
    live = serve_gateway(Settings.model_validate(settings))
    upstreams["one"][0].inject(Fault.status_error(500))
    response = httpx.post(
        live.url + "/api/v1/embeddings",
        json={"model": "acme/embed", "input": "hello"},
        headers=live.auth(),
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"][0]["embedding"]) == 8
    assert [len(upstreams[n][0].requests) for n in NAMES] == [1, 1, 0]


def test_embeddings_that_do_not_fit_fall_back_and_open_the_circuit(
    serve_gateway: LiveFactory, tmp_path: Path, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """A deployment answering one vector for three inputs has failed: the next deployment
    answers, the attempt is recorded as a 503, and enough such answers open its circuit."""
    settings = chain_settings(
        tmp_path, upstreams, breaker_failures=2, breaker_cooldown_s=60
    ).model_dump()
    settings["models"] = [
        *settings["models"],
        {
            "id": "acme/embed",
            "type": "embedding",
            "provider": "one",
            "deployments": [{"provider": "two"}],
            "capabilities": ["batch"],
            "dimensions": 8,
        },
    ]
    live = serve_gateway(Settings.model_validate(settings))
    one = {"object": "list", "data": [{"object": "embedding", "index": 0, "embedding": [0.5] * 8}]}
    upstreams["one"][0].inject(*[Fault.event(0, orjson.dumps(one))] * 2)
    body = {"model": "acme/embed", "input": ["a", "b", "c"]}
    ids = []
    for _ in range(3):
        response = httpx.post(live.url + "/api/v1/embeddings", json=body, headers=live.auth())
        assert response.status_code == 200, response.text
        assert [item["index"] for item in response.json()["data"]] == [0, 1, 2]
        ids.append(response.headers["x-request-id"])
    assert [len(upstreams[n][0].requests) for n in NAMES] == [2, 3, 0]
    failed, answered = written_record(live.settings.database.url, ids[0]).deployments
    assert (failed["provider"], failed["outcome"], failed["code"]) == (
        "one",
        "failed",
        "service_unavailable",
    )
    assert (answered["provider"], answered["outcome"]) == ("two", "answered")
    skipped, _ = written_record(live.settings.database.url, ids[2]).deployments
    assert skipped["outcome"] == "skipped: circuit open"


def test_a_fallback_the_request_does_not_fit_is_skipped_and_recorded(
    serve_gateway: LiveFactory, tmp_path: Path, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """A fallback model whose context window the request exceeds is left out of the
    plan: it is never called, and the record says why it was skipped."""
    settings = chain_settings(tmp_path, upstreams).model_dump()
    settings["models"] = [
        {**m, "context_window": 40, "max_output_tokens": 16} if m["id"] == "acme/backup" else m
        for m in settings["models"]
    ]
    live = serve_gateway(Settings.model_validate(settings))
    upstreams["one"][0].inject(Fault.status_error(503))
    upstreams["two"][0].inject(Fault.status_error(503))
    long = {**BODY, "messages": [{"role": "user", "content": "many words " * 40}]}
    response = post(live, long)
    body = assert_envelope(response, "openai", "all_fallbacks_failed")
    assert "2 attempts" in body["error"]["message"]
    assert upstreams["three"][0].requests == []
    record = written_record(live.settings.database.url, response.headers["x-request-id"])
    assert [(d["provider"], d["outcome"]) for d in record.deployments] == [
        ("three", "skipped: context_length_exceeded"),
        ("one", "failed"),
        ("two", "failed"),
    ]


def test_a_provider_suffix_pins_the_deployment(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """``acme/chat:TWO`` is ``acme/chat`` on provider ``two`` alone, answered under the
    text sent; the upstream gets its own model name and none of the gateway's fields
    (``webSearch``, ``memory``, ``provider``). A pin outside what ``provider.only``
    allows leaves nothing: ``no_fallback_available``."""
    body = {**BODY, "model": "acme/chat:TWO", "webSearch": {"enabled": False}, "memory": False}
    response = post(gateway, body)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "acme/chat:TWO"
    assert response.json()["choices"][0]["message"]["content"] == "Hello from two."
    assert calls(upstreams) == {"one": [], "two": ["chat-2"], "three": []}
    sent = upstreams["two"][0].requests[0]["body"]
    assert not {"webSearch", "memory", "provider"} & set(sent)
    record = written_record(gateway.settings.database.url, response.headers["x-request-id"])
    assert record.model == "acme/chat:TWO"

    response = post(gateway, {**BODY, "model": "acme/chat:two", "provider": {"only": ["one"]}})
    assert_envelope(response, "openai", "no_fallback_available")


def priced_settings(tmp_path: Path, upstreams: dict[str, tuple[FakeUpstream, str]]) -> Settings:
    """The chain, with ``acme/chat``'s deployment on ``two`` at its own, lower price."""
    data = chain_settings(tmp_path, upstreams).model_dump()
    for entry in data["models"]:
        if entry["id"] == "acme/chat":
            entry["deployments"][0].update(input_usd_per_mtok="0.5", output_usd_per_mtok="1")
    return Settings.model_validate(data)


def test_the_cheap_suffix_takes_the_cheapest_deployment_and_bills_its_price(
    serve_gateway: LiveFactory, tmp_path: Path, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """``acme/chat:cheap`` (and body ``provider.sort: "price"``) go to the deployment on
    ``two``, the cheapest, and the charge is at two's own price, not the model's."""
    from nanogate.billing import cost
    from nanogate.routing import Model

    live = serve_gateway(priced_settings(tmp_path, upstreams))
    before = balance(live)
    response = post(live, {**BODY, "model": "acme/chat:cheap"})
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Hello from two."
    usage = response.json()["usage"]
    model = next(m for m in live.settings.models if m.id == "acme/chat")
    at_two = Model.from_settings(
        model.model_copy(update={"input_usd_per_mtok": Decimal("0.5"), "output_usd_per_mtok": 1})
    )
    expected = cost(at_two, usage["prompt_tokens"], usage["completion_tokens"])
    assert expected > 0 and before - balance(live) == expected
    assert response.json()["x_nanogpt_pricing"]["cost"] == float(format_usd(expected))

    response = post(live, {**BODY, "provider": {"sort": "price"}})
    assert response.json()["choices"][0]["message"]["content"] == "Hello from two."
    response = post(live, {**BODY, "provider": {"max_price": {"prompt": 0.4}}})
    assert_envelope(response, "openai", "no_fallback_available")


def test_the_fast_suffix_learns_which_deployment_answers_sooner(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]]
) -> None:
    """``acme/chat:fast`` tries each deployment of the model not measured yet, then keeps
    to the one that answered sooner: with ``one`` slowed down, ``two`` takes the
    requests. The fallback model stays behind the model's own deployments."""
    upstreams["one"][0].inject(*[Fault.delay(0.3)] * 4)
    answered = [
        post(gateway, {**BODY, "model": "acme/chat:fast"}).json()["choices"][0]["message"][
            "content"
        ]
        for _ in range(4)
    ]
    assert answered[:2] == ["Hello from one.", "Hello from two."]
    assert answered[2:] == ["Hello from two.", "Hello from two."]


@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
def test_a_routing_suffix_with_x_provider_is_speed_suffix_conflict_on_each_surface(
    gateway: Live, upstreams: dict[str, tuple[FakeUpstream, str]], surface: str
) -> None:
    """Over a real socket, ``acme/chat:fast`` with ``X-Provider`` is 400
    ``speed_suffix_conflict`` in the surface's envelope, and no upstream is asked."""
    body: dict[str, Any] = (
        {"model": "acme/chat:fast", "prompt": "hi"}
        if surface == "legacy"
        else {**BODY, "model": "acme/chat:fast"}
    )
    response = httpx.post(
        gateway.url + SURFACE_PATHS[surface],
        json=body,
        headers={**gateway.auth(), "X-Provider": "two"},
        timeout=10,
    )
    assert_envelope(response, surface, "speed_suffix_conflict")
    assert calls(upstreams) == {"one": [], "two": [], "three": []}
