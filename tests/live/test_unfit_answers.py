"""Upstream answers that do not fit the request, over real sockets, with the fake
OpenAI-dialect upstream and the stock SDKs.

An embeddings answer with the wrong number or shape of vectors is the upstream's 503,
not charged. Tool calls reported with ``finish_reason: "stop"`` (OpenAI's answer to a
forced call, which LiteLLM's proxy streams on) are still tool calls on every surface,
so the SDKs' tool loops run the tool.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import orjson
import pytest
from anthropic import beta_tool
from tests.conftest import Live, LiveFactory
from tests.helpers import assert_envelope, make_settings, with_provider
from tests.live.test_balances import assert_books_balance
from tests.live.test_charging import balance, model

from nanogate.billing import cost
from nanogate.config import ProviderSettings
from nanogate.core import count_tokens
from nanogate.testing import FakeUpstream, Fault, ServedAioHTTP

WEATHER = {
    "name": "weather",
    "description": "Weather for a city.",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
ASK = "What is the weather in Paris?"


@pytest.fixture
def fake() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream(tool_finish="stop")
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


@pytest.fixture
def live(serve_gateway: LiveFactory, tmp_path: Path, fake: tuple[FakeUpstream, str]) -> Live:
    settings = with_provider(
        make_settings(tmp_path),
        ProviderSettings(name="fake", kind="openai", base_url=fake[1] + "/v1", timeout_s=2),
        [
            {
                "id": "acme/chat",
                "provider": "fake",
                "upstream_model": "fake-chat-v2",
                "capabilities": ["streaming", "tools"],
                "input_usd_per_mtok": "1",
                "output_usd_per_mtok": "2",
            },
            {
                "id": "acme/embed",
                "provider": "fake",
                "type": "embedding",
                "capabilities": ["batch"],
                "dimensions": 8,
                "input_usd_per_mtok": "100",
            },
        ],
    )
    return serve_gateway(settings)


# Embeddings ---------------------------------------------------------------------------


def vectors(*lengths: int, value: Any = 0.25) -> bytes:
    """An embeddings answer with one vector of each length (indexes in order)."""
    data = [
        {"object": "embedding", "index": i, "embedding": [value] * n} for i, n in enumerate(lengths)
    ]
    return orjson.dumps({"object": "list", "data": data, "usage": {"prompt_tokens": 9}})


def embed(live: Live, **body: Any) -> httpx.Response:
    request = {"model": "acme/embed", "input": ["a", "b", "c"], **body}
    return httpx.post(live.url + "/api/v1/embeddings", json=request, headers=live.auth())


def test_fitting_embeddings_are_charged(live: Live) -> None:
    """The control case: three vectors for three inputs are answered and charged, so the
    balance does move when an answer is delivered."""
    before = balance(live)
    response = embed(live)
    assert response.status_code == 200, response.text
    assert [len(item["embedding"]) for item in response.json()["data"]] == [8, 8, 8]
    assert balance(live) < before


@pytest.mark.parametrize(
    ("answer", "body", "what"),
    [
        (vectors(8), {}, "1 embeddings for 3 inputs"),
        (vectors(8, 8, 8, 8), {}, "4 embeddings for 3 inputs"),
        (vectors(8, 4, 8), {}, "different lengths"),
        (vectors(4, 4, 4), {"dimensions": 8}, "4 dimensions, not the 8 asked"),
        (vectors(8, 8, 8, value="0.25"), {}, "embedding 0 is not a list of finite numbers"),
        (b'{"object": "list", "model": "m"}', {}, "no list of embedding objects"),
    ],
    ids=["one-for-three", "four-for-three", "mixed-lengths", "dimensions", "strings", "no-data"],
)
def test_embeddings_that_do_not_fit_are_a_503_and_not_charged(
    live: Live, fake: tuple[FakeUpstream, str], answer: bytes, body: dict[str, Any], what: str
) -> None:
    """A wrong count, mixed lengths, the wrong dimensions, non-numbers or no data list is
    503 service_unavailable saying what was wrong (never the upstream's body); the hold
    is released and the ledger is unchanged."""
    upstream, _ = fake
    upstream.inject(Fault.event(0, answer))
    before = balance(live)
    response = embed(live, **body)
    error = assert_envelope(response, "openai", "service_unavailable")["error"]
    assert "does not fit the request" in error["message"] and what in error["message"]
    assert "0.25" not in error["message"]
    assert balance(live) == before
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


def test_embeddings_without_a_token_count_are_charged_the_gateway_count(
    live: Live, fake: tuple[FakeUpstream, str]
) -> None:
    """An answer that fits but reports no usage is charged the gateway's own count of the
    inputs, not nothing, and says so in its usage."""
    upstream, _ = fake
    data = [{"object": "embedding", "index": i, "embedding": [0.5] * 8} for i in range(3)]
    upstream.inject(Fault.event(0, orjson.dumps({"object": "list", "data": data})))
    before = balance(live)
    response = embed(live)
    assert response.status_code == 200, response.text
    tokens = sum(count_tokens(text) for text in ("a", "b", "c"))
    assert response.json()["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}
    assert before - balance(live) == cost(model(live, "acme/embed"), tokens, 0) > 0
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


# Tool calls finished with "stop" ------------------------------------------------------


def anthropic_client(live: Live) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=live.url + "/api", api_key=live.key, max_retries=0)


def openai_client(live: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.url + "/api/v1", api_key=live.key, max_retries=0)


ANTHROPIC_TOOL: Any = {"name": "weather", "input_schema": WEATHER["parameters"]}


def test_messages_report_tool_use_whole_and_streamed(live: Live) -> None:
    """An upstream that finishes its tool calls with ``stop`` gives the Anthropic SDK
    stop_reason tool_use and the tool_use block, whole and streamed."""
    request: Any = {
        "model": "acme/chat",
        "max_tokens": 100,
        "messages": [{"role": "user", "content": ASK}],
        "tools": [ANTHROPIC_TOOL],
    }
    with anthropic_client(live) as client:
        whole = client.messages.create(**request)
        with client.messages.stream(**request) as stream:
            streamed = stream.get_final_message()
    for message in (whole, streamed):
        assert message.stop_reason == "tool_use"
        call = message.content[-1]
        assert call.type == "tool_use" and (call.name, call.input) == ("weather", {"city": "Paris"})


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
def test_the_anthropic_tool_runner_runs_the_tool(
    live: Live, fake: tuple[FakeUpstream, str], stream: bool
) -> None:
    """The Anthropic SDK's tool runner runs the tool the upstream called (with ``stop``),
    sends its result back, and ends on the model's answer in words."""
    upstream, _ = fake
    ran: list[str] = []

    @beta_tool
    def weather(city: str) -> str:
        """Weather for a city."""
        ran.append(city)
        return f"Sunny in {city}"

    with anthropic_client(live) as client:
        runner = client.beta.messages.tool_runner(
            model="acme/chat",
            max_tokens=100,
            max_iterations=4,
            messages=[{"role": "user", "content": ASK}],
            tools=[weather],
            stream=stream,
        )
        final = runner.until_done()
    assert ran == ["Paris"]
    assert final.stop_reason == "end_turn"
    assert final.content[0].type == "text" and final.content[0].text == upstream.reply
    answered = upstream.requests[-1]["body"]["messages"][-1]
    assert answered["role"] == "tool" and answered["content"] == "Sunny in Paris"


def test_responses_complete_with_function_calls_whole_and_streamed(live: Live) -> None:
    """On Responses, tool calls finished with ``stop`` are a completed response with a
    completed function_call item (as OpenAI's Responses API answers), whole and
    streamed; the tool's output sent back gets the model's answer in words."""
    tools: Any = [{"type": "function", **WEATHER}]
    with openai_client(live) as client:
        whole = client.responses.create(model="acme/chat", input=ASK, tools=tools)
        with client.responses.stream(model="acme/chat", input=ASK, tools=tools) as events:
            streamed = events.get_final_response()
        for response in (whole, streamed):
            assert response.status == "completed" and response.incomplete_details is None
            call = response.output[-1]
            assert call.type == "function_call" and call.status == "completed"
            assert (call.name, orjson.loads(call.arguments)) == ("weather", {"city": "Paris"})
        call = whole.output[-1]
        assert call.type == "function_call"
        result: Any = [{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny"}]
        after = client.responses.create(
            model="acme/chat", previous_response_id=whole.id, input=result, tools=tools
        )
    assert after.status == "completed" and after.output_text == "Hello from the upstream."


def test_chat_completions_pass_the_upstream_finish_through(live: Live) -> None:
    """Chat completions relay the upstream's own ``finish_reason`` (``stop``) beside the
    tool calls, as OpenAI answers a forced call; chat tool loops read the calls."""
    tools: Any = [{"type": "function", "function": WEATHER}]
    messages: Any = [{"role": "user", "content": ASK}]
    with openai_client(live) as client:
        completion = client.chat.completions.create(
            model="acme/chat", messages=messages, tools=tools
        )
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is not None
    assert choice.message.tool_calls[0].function.name == "weather"
