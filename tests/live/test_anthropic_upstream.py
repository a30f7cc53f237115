"""The gateway in front of an Anthropic upstream (the fake, on loopback), driven by the
stock SDKs: a model routed to an ``anthropic`` provider answers on every surface,
plain and streamed, with text and tool calls, and is charged its upstream's usage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from tests.conftest import Live, LiveFactory
from tests.helpers import make_settings, with_provider
from tests.live.test_balances import assert_books_balance
from tests.live.test_charging import balance, model

from nanogate.billing import cost
from nanogate.config import ProviderSettings
from nanogate.testing import FakeUpstream, ServedAioHTTP

HI = [{"role": "user", "content": "hi"}]
TEXT = "Hello from the upstream."
TOOL = {
    "name": "weather",
    "description": "Weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
}


@pytest.fixture
def served_fake() -> Iterator[tuple[FakeUpstream, str]]:
    upstream = FakeUpstream()
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


@pytest.fixture
def fake(served_fake: tuple[FakeUpstream, str]) -> FakeUpstream:
    return served_fake[0]


@pytest.fixture
def claude_live(
    serve_gateway: LiveFactory, tmp_path: Path, served_fake: tuple[FakeUpstream, str]
) -> Live:
    settings = with_provider(
        make_settings(tmp_path),
        ProviderSettings(
            name="claude",
            kind="anthropic",
            base_url=served_fake[1] + "/v1",
            api_key="sk-ant-operator-secret",
            timeout_s=2,
        ),
        [
            {
                "id": "acme/claude",
                "provider": "claude",
                "upstream_model": "claude-upstream-1",
                "capabilities": ["streaming", "tools", "vision"],
                "context_window": 200000,
                "max_output_tokens": 777,
                "input_usd_per_mtok": "3",
                "output_usd_per_mtok": "15",
            }
        ],
    )
    return serve_gateway(settings)


@pytest.fixture
def oa(claude_live: Live) -> Iterator[openai.OpenAI]:
    client = openai.OpenAI(
        base_url=claude_live.url + "/api/v1", api_key=claude_live.key, max_retries=0
    )
    yield client
    client.close()


@pytest.fixture
def an(claude_live: Live) -> Iterator[anthropic.Anthropic]:
    client = anthropic.Anthropic(
        base_url=claude_live.url + "/api", api_key=claude_live.key, max_retries=0
    )
    yield client
    client.close()


def charged(live: Live, before: int, requests: int, completion_tokens: int = 4) -> None:
    """The balance went down by exactly ``requests`` answers of the fake's usage
    (10 prompt tokens, 3 of them cache reads, and ``completion_tokens``)."""
    unit = cost(model(live, "acme/claude"), 10, completion_tokens)
    assert before - balance(live) == requests * unit
    assert_books_balance(live.settings.database.url, live.seeded.account_id)


def sent(fake: FakeUpstream) -> dict[str, Any]:
    request = fake.requests[-1]
    assert request["path"] == "/v1/messages"
    return request


# Chat completions -------------------------------------------------------------------


def test_chat_completions_plain_and_streamed(
    claude_live: Live, fake: FakeUpstream, oa: openai.OpenAI
) -> None:
    """Chat completions reach the Anthropic upstream as a Messages request (operator key,
    upstream model, the model's output cap as max_tokens) and answer in chat form,
    plain and streamed, each charged the upstream's usage."""
    before = balance(claude_live)
    completion = oa.chat.completions.create(model="acme/claude", messages=HI)
    assert completion.model == "acme/claude"
    assert completion.choices[0].message.content == TEXT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (10, 4)
    request = sent(fake)
    assert request["headers"]["x-api-key"] == "sk-ant-operator-secret"
    assert request["body"]["model"] == "claude-upstream-1"
    assert request["body"]["max_tokens"] == 777
    stream = oa.chat.completions.create(
        model="acme/claude",
        messages=HI,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TEXT
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 4
    assert sent(fake)["body"]["stream"] is True
    charged(claude_live, before, 2)


def test_chat_completions_tool_calls_plain_and_streamed(
    claude_live: Live, fake: FakeUpstream, oa: openai.OpenAI
) -> None:
    """A chat tool goes upstream as an Anthropic tool; its tool_use comes back as a chat
    tool call, whole or assembled from streamed fragments."""
    tools = [{"type": "function", "function": TOOL}]
    completion = oa.chat.completions.create(
        model="acme/claude",
        messages=HI,
        tools=tools,
        tool_choice="required",
    )
    assert sent(fake)["body"]["tool_choice"] == {"type": "any"}
    assert sent(fake)["body"]["tools"][0]["input_schema"] == TOOL["parameters"]
    call = completion.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name, call.function.arguments) == (
        "toolu_fake_0",
        "weather",
        '{"city":"Paris"}',
    )
    assert completion.choices[0].finish_reason == "tool_calls"
    stream = oa.chat.completions.create(
        model="acme/claude",
        messages=HI,
        tools=tools,
        stream=True,
    )
    fragments = [
        call
        for chunk in stream
        if chunk.choices
        for call in chunk.choices[0].delta.tool_calls or ()
    ]
    assert fragments[0].id == "toolu_fake_0" and fragments[0].function.name == "weather"
    assert "".join(f.function.arguments or "" for f in fragments) == '{"city":"Paris"}'


# Messages ----------------------------------------------------------------------------


def test_messages_plain_and_streamed(
    claude_live: Live, fake: FakeUpstream, an: anthropic.Anthropic
) -> None:
    """The Messages surface, through the chat dialect and back to the Anthropic upstream:
    the system prompt, max_tokens and stop sequences arrive; text and usage return,
    plain and streamed; both are charged."""
    before = balance(claude_live)
    message = an.messages.create(
        model="acme/claude",
        max_tokens=50,
        system="Be brief.",
        stop_sequences=["END"],
        messages=[{"role": "user", "content": "hi"}],
    )
    body = sent(fake)["body"]
    assert (body["system"], body["max_tokens"], body["stop_sequences"]) == (
        "Be brief.",
        50,
        ["END"],
    )
    assert message.content[0].type == "text" and message.content[0].text == TEXT
    assert message.stop_reason == "end_turn"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (10, 4)
    with an.messages.stream(
        model="acme/claude", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == TEXT and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 4
    charged(claude_live, before, 2)


def test_messages_tool_use_plain_and_streamed(
    claude_live: Live, fake: FakeUpstream, an: anthropic.Anthropic
) -> None:
    """Anthropic tools pass through the chat dialect to the Anthropic upstream and the
    tool_use comes back with its input, plain and streamed."""
    tools = [{"name": "weather", "input_schema": TOOL["parameters"]}]
    message = an.messages.create(
        model="acme/claude",
        max_tokens=50,
        tools=tools,
        tool_choice={"type": "tool", "name": "weather"},
        messages=[{"role": "user", "content": "weather?"}],
    )
    assert sent(fake)["body"]["tool_choice"] == {"type": "tool", "name": "weather"}
    blocks = [b for b in message.content if b.type == "tool_use"]
    assert [(b.id, b.name, b.input) for b in blocks] == [
        ("toolu_fake_0", "weather", {"city": "Paris"})
    ]
    assert message.stop_reason == "tool_use"
    with an.messages.stream(
        model="acme/claude",
        max_tokens=50,
        tools=tools,
        messages=[{"role": "user", "content": "weather?"}],
    ) as stream:
        final = stream.get_final_message()
    assert [b.input for b in final.content if b.type == "tool_use"] == [{"city": "Paris"}]


# Responses ---------------------------------------------------------------------------


def test_responses_plain_and_streamed(
    claude_live: Live, fake: FakeUpstream, oa: openai.OpenAI
) -> None:
    """The Responses API reaches the Anthropic upstream: instructions become the system
    prompt, max_output_tokens the max_tokens; text and usage return, plain and
    streamed; both are charged."""
    before = balance(claude_live)
    response = oa.responses.create(
        model="acme/claude", input="hi", instructions="Be brief.", max_output_tokens=60
    )
    body = sent(fake)["body"]
    assert (body["system"], body["max_tokens"]) == ("Be brief.", 60)
    assert response.output_text == TEXT and response.status == "completed"
    assert response.usage is not None
    assert (response.usage.input_tokens, response.usage.output_tokens) == (10, 4)
    events = list(oa.responses.create(model="acme/claude", input="hi", stream=True))
    deltas = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert deltas == TEXT
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == TEXT
    charged(claude_live, before, 2)


def test_responses_function_calls_plain_and_streamed(
    claude_live: Live, fake: FakeUpstream, oa: openai.OpenAI
) -> None:
    """A Responses function tool reaches the Anthropic upstream, and its tool_use comes
    back as a function_call output item, plain and streamed."""
    tools = [{"type": "function", **TOOL}]
    response = oa.responses.create(model="acme/claude", input="weather?", tools=tools)
    assert sent(fake)["body"]["tools"][0]["name"] == "weather"
    calls = [item for item in response.output if item.type == "function_call"]
    assert [(c.call_id, c.name, c.arguments) for c in calls] == [
        ("toolu_fake_0", "weather", '{"city":"Paris"}')
    ]
    events = list(
        oa.responses.create(model="acme/claude", input="weather?", tools=tools, stream=True)
    )
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert [e.arguments for e in done] == ['{"city":"Paris"}']
