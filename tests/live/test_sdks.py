"""The stock ``openai`` and ``anthropic`` SDKs, pointed at a served gateway.

Each status the gateway produces raises the SDK's class for it, with the
gateway's code, param and request id; the local models answer, stream, call
tools and produce JSON through the SDKs unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TypeVar

import anthropic
import httpx
import openai
import pytest
from tests.conftest import Live, LiveFactory

C = TypeVar("C", openai.OpenAI, anthropic.Anthropic)

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city"],
            },
        },
    }
]


@pytest.fixture
def sdk_live(serve_gateway: LiveFactory) -> Live:
    """A gateway whose key may use every model except ``local/embed-mini``."""
    return serve_gateway(models=["local/chat", "local/mini", "local/embed"])


def oa(live: Live, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=live.url + "/api/v1", api_key=key or live.key, max_retries=0)


def an(live: Live, key: str | None = None) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=live.url + "/api", api_key=key or live.key, max_retries=0)


BAD_KEY = "sk-nano-00000000-0000-4000-8000-000000000000"

_open: list[openai.OpenAI | anthropic.Anthropic] = []


def closing_client(client: C) -> C:
    """Hand out ``client`` and close it when the test ends."""
    _open.append(client)
    return client


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


@pytest.mark.parametrize(
    ("call", "error_class", "code", "param"),
    [
        (
            lambda c: c.chat.completions.create(model="local/chat", messages=[], temperature=1),
            openai.BadRequestError,
            "invalid_parameter_value",
            "messages",
        ),
        (
            lambda c: c.chat.completions.create(
                model="local/chat", messages=[{"role": "user", "content": "x"}], temperature=9
            ),
            openai.BadRequestError,
            "invalid_parameter_value",
            "temperature",
        ),
        (
            lambda c: c.chat.completions.create(
                model="acme/none", messages=[{"role": "user", "content": "x"}]
            ),
            openai.NotFoundError,
            "model_not_found",
            "model",
        ),
        (
            lambda c: c.embeddings.create(model="local/embed-mini", input="x"),
            openai.PermissionDeniedError,
            "model_not_allowed",
            "model",
        ),
        (
            lambda c: c.chat.completions.create(
                model="local/mini", messages=[{"role": "user", "content": "x"}], tools=TOOLS
            ),
            openai.BadRequestError,
            "tool_choice_unsupported",
            "tool_choice",
        ),
        (
            lambda c: c.responses.retrieve("resp_000000000000000000000000"),
            openai.NotFoundError,
            "response_not_found",
            None,
        ),
    ],
)
def test_openai_sdk_raises_the_class_for_each_status(
    sdk_live: Live, call, error_class, code, param
) -> None:
    """The openai SDK raises the status's class with the gateway's code, param and the
    X-Request-ID of the response as ``request_id``."""
    with oa(sdk_live) as client, pytest.raises(error_class) as caught:
        call(client)
    error = caught.value
    assert error.code == code
    assert error.param == param
    assert error.request_id == error.response.headers["x-request-id"]
    assert error.request_id.startswith("req_")


def test_openai_sdk_authentication_error(sdk_live: Live) -> None:
    """An unknown key raises AuthenticationError with code invalid_api_key."""
    with oa(sdk_live, BAD_KEY) as client, pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(
            model="local/chat", messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.code == "invalid_api_key"
    assert caught.value.request_id == caught.value.response.headers["x-request-id"]


def test_openai_sdk_does_not_retry_a_client_error(sdk_live: Live) -> None:
    """x-should-retry: false keeps the SDK (with retries on) from repeating a 4xx."""
    seen: list[httpx.Request] = []
    client = openai.OpenAI(
        base_url=sdk_live.url + "/api/v1",
        api_key=sdk_live.key,
        max_retries=3,
        http_client=openai.DefaultHttpxClient(event_hooks={"request": [seen.append]}),
    )
    with client, pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])
    assert len(seen) == 1


def test_openai_sdk_chat_plain_and_streamed(sdk_live: Live) -> None:
    """The local model answers deterministically; streamed deltas join to the same text,
    and the usage chunk arrives when asked for."""
    client = closing_client(oa(sdk_live))
    messages = [{"role": "user", "content": "Tell me about gateways"}]
    plain = client.chat.completions.create(model="local/chat", messages=messages)
    assert plain.choices[0].message.content == "You said: Tell me about gateways"
    assert plain.usage is not None and plain.usage.completion_tokens > 0
    stream = client.chat.completions.create(
        model="local/chat", messages=messages, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 3
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens
    assert stream.response.headers["x-request-id"].startswith("req_")


def test_openai_sdk_tool_call_and_json_schema(sdk_live: Live) -> None:
    """Tool calls come back parsed with JSON arguments matching the schema, and
    json_schema output parses as an instance of the schema."""
    client = closing_client(oa(sdk_live))
    called = client.chat.completions.create(
        model="local/chat",
        messages=[{"role": "user", "content": "use get_weather for Paris"}],
        tools=TOOLS,
    )
    call = called.choices[0].message.tool_calls[0]
    assert called.choices[0].finish_reason == "tool_calls"
    assert call.function.name == "get_weather"
    assert isinstance(json.loads(call.function.arguments)["city"], str)
    schema = {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer", "minimum": 1900}},
        "required": ["title", "year"],
        "additionalProperties": False,
    }
    shaped = client.chat.completions.create(
        model="local/chat",
        messages=[{"role": "user", "content": "a film"}],
        response_format={"type": "json_schema", "json_schema": {"name": "film", "schema": schema}},
    )
    film = json.loads(shaped.choices[0].message.content)
    assert set(film) == {"title", "year"} and film["year"] >= 1900


def test_openai_sdk_responses_embeddings_and_models(sdk_live: Live) -> None:
    """Responses (stored, continued, streamed, deleted), base64 embeddings and the model
    list all work through the SDK."""
    client = closing_client(oa(sdk_live))
    first = client.responses.create(model="local/chat", input="remember the word kiwi")
    assert first.output_text == "You said: remember the word kiwi"
    second = client.responses.create(
        model="local/chat", input="and now?", previous_response_id=first.id
    )
    assert second.output_text == "You said: and now?"
    assert client.responses.retrieve(first.id).id == first.id
    events = list(client.responses.create(model="local/chat", input="stream me", stream=True))
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    assert events[-1].response.output_text == "You said: stream me"
    deleted = client.responses.delete(first.id)
    assert deleted is None or getattr(deleted, "deleted", True)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)

    embedding = client.embeddings.create(model="local/embed", input=["cats purr", "dogs bark"])
    assert len(embedding.data) == 2 and len(embedding.data[0].embedding) == 256

    ids = [m.id for m in client.models.list()]
    assert "local/chat" in ids
    assert client.models.retrieve("local/chat").id == "local/chat"


@pytest.mark.parametrize(
    ("kwargs", "error_class", "code"),
    [
        (
            {
                "model": "local/chat",
                "max_tokens": 10,
                "extra_body": {"temperature": 3.0},
                "messages": [{"role": "user", "content": "x"}],
            },
            anthropic.BadRequestError,
            "invalid_parameter_value",
        ),
        (
            {
                "model": "acme/none",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "x"}],
            },
            anthropic.NotFoundError,
            "model_not_found",
        ),
        (
            {
                "model": "local/embed-mini",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "x"}],
            },
            anthropic.PermissionDeniedError,
            "model_not_allowed",
        ),
        (
            {
                "model": "local/mini",
                "max_tokens": 10,
                "messages": [{"role": "user", "content": "x " * 3000}],
            },
            anthropic.BadRequestError,
            "context_length_exceeded",
        ),
    ],
)
def test_anthropic_sdk_raises_the_class_for_each_status(
    sdk_live: Live, kwargs, error_class, code
) -> None:
    """The anthropic SDK raises the status's class; ``request_id`` is the response's
    request-id header, equal to X-Request-ID."""
    with an(sdk_live) as client, pytest.raises(error_class) as caught:
        client.messages.create(**kwargs)
    error = caught.value
    assert error.body["error"]["code"] == code
    assert error.request_id == error.response.headers["x-request-id"]


def test_anthropic_sdk_authentication_error(sdk_live: Live) -> None:
    """An unknown key raises the anthropic SDK's AuthenticationError."""
    with an(sdk_live, BAD_KEY) as client, pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(
            model="local/chat", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        )
    assert caught.value.body["error"]["type"] == "authentication_error"


def test_anthropic_sdk_messages_plain_streamed_and_tools(sdk_live: Live) -> None:
    """Messages answer, stream token by token to the same text, and call tools."""
    client = closing_client(an(sdk_live))
    messages = [{"role": "user", "content": "Hello Claude-compatible world"}]
    plain = client.messages.create(model="local/chat", max_tokens=200, messages=messages)
    assert plain.content[0].text == "You said: Hello Claude-compatible world"
    assert plain.stop_reason == "end_turn"
    with client.messages.stream(model="local/chat", max_tokens=200, messages=messages) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(pieces) == plain.content[0].text
    assert len(pieces) > 3
    assert final.usage.output_tokens == plain.usage.output_tokens
    tooled = client.messages.create(
        model="local/chat",
        max_tokens=200,
        messages=[{"role": "user", "content": "call get_weather please"}],
        tools=[{"name": "get_weather", "input_schema": TOOLS[0]["function"]["parameters"]}],
    )
    assert tooled.stop_reason == "tool_use"
    tool_use = tooled.content[-1]
    assert tool_use.type == "tool_use" and tool_use.name == "get_weather"
    assert isinstance(tool_use.input["city"], str)
    counted = client.messages.count_tokens(model="local/chat", messages=messages)
    assert counted.input_tokens == plain.usage.input_tokens


def test_anthropic_sdk_max_tokens_stop(sdk_live: Live) -> None:
    """A tight max_tokens stops the local model with stop_reason max_tokens."""
    with an(sdk_live) as client:
        reply = client.messages.create(
            model="local/chat", max_tokens=2, messages=[{"role": "user", "content": "a b c d e f"}]
        )
    assert reply.stop_reason == "max_tokens"
    assert reply.usage.output_tokens == 2
