"""Model suffixes on every surface: answered under the text sent, or refused in the
surface's envelope before anything is charged."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from tests.conftest import InProcess
from tests.helpers import SURFACE_PATHS, assert_envelope


def body_for(surface: str, model: str, **extra: Any) -> dict[str, Any]:
    if surface == "legacy":
        return {"model": model, "prompt": "hi", **extra}
    return {
        "model": model,
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": 16,
        **extra,
    }


async def balance(gateway: InProcess) -> str:
    response = await gateway.client.post("/api/check-balance", headers=gateway.auth())
    value: str = response.json()["usd_balance"]
    return value


async def test_a_pinned_model_is_answered_under_the_text_sent(gateway: InProcess) -> None:
    """``local/chat:LOCAL`` (a provider pin, any case) is served by ``local/chat`` on
    that provider; chat completions, Messages and Responses name the model as sent."""
    sent = "local/chat:LOCAL"
    chat = await gateway.client.post(
        "/api/v1/chat/completions", json=body_for("openai", sent), headers=gateway.auth()
    )
    assert chat.status_code == 200, chat.text
    assert chat.json()["model"] == sent
    message = await gateway.client.post(
        "/api/v1/messages", json=body_for("anthropic", sent), headers=gateway.auth()
    )
    assert message.status_code == 200, message.text
    assert message.json()["model"] == sent
    response = await gateway.client.post(
        "/api/v1/responses",
        json={"model": sent, "input": "hi", "max_output_tokens": 16},
        headers=gateway.auth(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["model"] == sent
    legacy = await gateway.client.post(
        "/api/talk-to-gpt", json=body_for("legacy", sent), headers=gateway.auth()
    )
    assert legacy.status_code == 200 and "<NanoGPT>" in legacy.text


async def test_a_streamed_answer_names_the_model_as_sent(gateway: InProcess) -> None:
    """Each chunk of a streamed chat completion carries the suffixed text."""
    response = await gateway.client.post(
        "/api/v1/chat/completions",
        json=body_for("openai", "local/chat:local", stream=True),
        headers=gateway.auth(),
    )
    chunks = [
        orjson.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: {")
    ]
    assert chunks and {chunk["model"] for chunk in chunks} == {"local/chat:local"}


@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
async def test_a_routing_suffix_with_a_provider_is_speed_suffix_conflict(
    gateway: InProcess, surface: str
) -> None:
    """A routing suffix with a provider suffix, with ``X-Provider`` or with the body's
    ``provider``: 400 ``speed_suffix_conflict`` on ``model``, in the surface's envelope,
    and the balance untouched."""
    before = await balance(gateway)
    path = SURFACE_PATHS[surface]
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        (body_for(surface, "local/chat:fast:local"), {}),
        (body_for(surface, "local/chat:cheap"), {"X-Provider": "local"}),
        (body_for(surface, "local/chat:throughput", provider={"only": ["local"]}), {}),
    ]
    for body, headers in cases:
        response = await gateway.client.post(path, json=body, headers={**gateway.auth(), **headers})
        answer = assert_envelope(response, surface, "speed_suffix_conflict")
        if surface == "openai":
            assert answer["error"]["param"] == "model"
    assert await balance(gateway) == before


@pytest.mark.parametrize("surface", ["openai", "anthropic", "legacy"])
async def test_an_unknown_suffix_is_invalid_parameter_value_on_model(
    gateway: InProcess, surface: str
) -> None:
    """``local/chat:turbo`` names a model with a suffix nobody defined: 400
    ``invalid_parameter_value`` (``param: "model"``), not ``model_not_found``; a text
    that begins with no catalogue id is still ``model_not_found``."""
    path = SURFACE_PATHS[surface]
    response = await gateway.client.post(
        path, json=body_for(surface, "local/chat:turbo"), headers=gateway.auth()
    )
    answer = assert_envelope(response, surface, "invalid_parameter_value")
    if surface == "openai":
        assert answer["error"]["param"] == "model"
        assert "':turbo'" in answer["error"]["message"]
    response = await gateway.client.post(
        path, json=body_for(surface, "nobody/model:online"), headers=gateway.auth()
    )
    assert_envelope(response, surface, "model_not_found")


@pytest.mark.parametrize(
    ("model", "extra", "headers", "says"),
    [
        ("local/chat:online", {}, {}, "Web search is not configured"),
        ("local/chat", {"webSearch": {"enabled": True}}, {}, "Web search is not configured"),
        ("local/chat:memory-7", {}, {}, "Context memory is not enabled"),
        ("local/chat", {}, {"memory": "true"}, "Context memory is not enabled"),
    ],
)
async def test_an_add_on_this_gateway_does_not_offer_is_refused(
    gateway: InProcess, model: str, extra: dict[str, Any], headers: dict[str, str], says: str
) -> None:
    """Web search and context memory are asked for by suffix, header or body; a gateway
    that does not offer them answers 400 with what is missing, before anything is
    charged, rather than serving without it."""
    before = await balance(gateway)
    response = await gateway.client.post(
        "/api/v1/chat/completions",
        json=body_for("openai", model, **extra),
        headers={**gateway.auth(), **headers},
    )
    answer = assert_envelope(response, "openai", "invalid_parameter_value")
    assert says in answer["error"]["message"]
    assert await balance(gateway) == before


async def test_turning_add_ons_off_serves_the_request(gateway: InProcess) -> None:
    """Body ``webSearch: {enabled: false}`` and ``memory: false`` win over the suffixes,
    so the request is served without them."""
    response = await gateway.client.post(
        "/api/v1/chat/completions",
        json=body_for(
            "openai", "local/chat:online:memory", webSearch={"enabled": False}, memory=False
        ),
        headers=gateway.auth(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["model"] == "local/chat:online:memory"


async def test_routing_suffixes_are_served(gateway: InProcess) -> None:
    """``:fast``, ``:latency``, ``:cheap``, ``:price`` and ``:throughput`` order the
    model's deployments (one here) and the request is served under the text sent."""
    for suffix in ("fast", "latency", "cheap", "price", "throughput"):
        sent = f"local/chat:{suffix}"
        response = await gateway.client.post(
            "/api/v1/chat/completions", json=body_for("openai", sent), headers=gateway.auth()
        )
        assert response.status_code == 200, response.text
        assert response.json()["model"] == sent


async def test_a_routing_suffix_goes_with_constraints_that_only_narrow(gateway: InProcess) -> None:
    """``provider.ignore``, ``max_price`` and ``allow_fallbacks`` name no provider: with
    ``:cheap`` they are no conflict, and the request is served."""
    for provider in (
        {"ignore": ["elsewhere"]},
        {"max_price": {"prompt": 100, "completion": 100}},
        {"allow_fallbacks": False},
    ):
        response = await gateway.client.post(
            "/api/v1/chat/completions",
            json=body_for("openai", "local/chat:cheap", provider=provider),
            headers=gateway.auth(),
        )
        assert response.status_code == 200, (provider, response.text)


async def test_an_add_on_asked_for_outside_the_model_is_refused_on_its_own_name(
    gateway: InProcess,
) -> None:
    """Web search asked in the body, or memory by header, is refused on ``webSearch`` or
    ``memory``, not on ``model``."""
    response = await gateway.client.post(
        "/api/v1/chat/completions",
        json=body_for("openai", "local/chat", webSearch={"enabled": True}),
        headers=gateway.auth(),
    )
    assert response.json()["error"]["param"] == "webSearch"
    response = await gateway.client.post(
        "/api/v1/chat/completions",
        json=body_for("openai", "local/chat"),
        headers={**gateway.auth(), "memory": "true"},
    )
    assert response.json()["error"]["param"] == "memory"
