"""The local chat model: what it replies, how it counts, how it renders and streams."""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest

from nanogate.core._tokens import count_chat_tokens, count_tokens, tokenize
from nanogate.providers.local._chat import (
    GREETING,
    Reply,
    choice_count,
    chunks,
    completion,
    plan_reply,
)

WEATHER_PARAMS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer", "minimum": 1, "maximum": 7},
    },
    "required": ["city"],
    "additionalProperties": False,
}
TOOLS = [
    {
        "type": "function",
        "function": {"name": "lookup_time", "description": "Clock", "parameters": {}},
    },
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER_PARAMS},
    },
]


def body(text: Any = "hello there", **extra: Any) -> dict[str, Any]:
    """A minimal chat request whose last message is a user message."""
    return {"model": "local-chat", "messages": [{"role": "user", "content": text}], **extra}


def render(reply: Reply, n: int = 1) -> dict[str, Any]:
    return completion(reply, completion_id="chatcmpl_x", model="local-chat", created=7, n=n)


def stream(reply: Reply, n: int = 1) -> list[dict[str, Any]]:
    return list(chunks(reply, completion_id="chatcmpl_x", model="local-chat", created=7, n=n))


# --- what it says -----------------------------------------------------------------------


def test_echoes_last_user_message() -> None:
    """The reply is 'You said: ' and the last user message's text."""
    request = {
        "model": "m",
        "messages": [
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "second"},
        ],
    }
    assert plan_reply(request, 100).content == "You said: second"


def test_joins_text_parts_with_spaces() -> None:
    """A list content's text parts are joined with single spaces."""
    parts = [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]
    assert plan_reply(body(parts), 100).content == "You said: one two"


@pytest.mark.parametrize(
    "messages",
    [[], [{"role": "system", "content": "sys"}], [{"role": "user", "content": ""}]],
    ids=["no messages", "no user", "empty user"],
)
def test_greets_without_user_text(messages: list[dict[str, Any]]) -> None:
    """With no user text the model introduces itself."""
    assert plan_reply({"model": "m", "messages": messages}, 100).content == GREETING


def test_counts_images() -> None:
    """Image parts in the last user message are acknowledged with their count."""
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    one = plan_reply(body([{"type": "text", "text": "look"}, image]), 100)
    assert one.content == "You said: look (I see 1 image.)"
    two = plan_reply(body([image, image]), 100)
    assert two.content == f"{GREETING} (I see 2 images.)"


def test_reports_tool_result() -> None:
    """After a tool message the model reports what the tool returned."""
    request = body("weather in Paris?", tools=TOOLS, tool_choice="required")
    request["messages"] += [
        {"role": "assistant", "content": None, "tool_calls": [_call("get_weather")]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny, 21C"},
    ]
    reply = plan_reply(request, 100)
    assert reply.tool_call is None
    assert reply.content == "The tool returned: sunny, 21C"
    assert reply.finish_reason == "stop"


def _call(name: str) -> dict[str, Any]:
    return {"id": "call_1", "type": "function", "function": {"name": name, "arguments": "{}"}}


# --- tools ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "choice", "expected"),
    [
        (
            "what is the weather",
            {"type": "function", "function": {"name": "get_weather"}},
            "get_weather",
        ),
        (
            "what time is it",
            {"type": "function", "function": {"name": "get_weather"}},
            "get_weather",
        ),
        ("please GET_WEATHER now", "required", "get_weather"),
        ("nothing relevant", "required", "lookup_time"),
        ("can you get weather for Oslo", "auto", "get_weather"),
        ("can you get weather for Oslo", None, "get_weather"),
        ("lookup time and get weather", "auto", "lookup_time"),
        ("nothing relevant", "auto", None),
        ("nothing relevant", None, None),
        ("get weather please", "none", None),
    ],
    ids=[
        "named",
        "named overrides text",
        "required by name",
        "required falls back to first",
        "auto by spaced name",
        "absent means auto",
        "auto takes first listed match",
        "auto without match",
        "absent without match",
        "none",
    ],
)
def test_tool_choice(text: str, choice: Any, expected: str | None) -> None:
    """Which function is called (or none) for each tool_choice and user text."""
    extra: dict[str, Any] = {"tools": TOOLS}
    if choice is not None:
        extra["tool_choice"] = choice
    reply = plan_reply(body(text, **extra), 1000)
    if expected is None:
        assert reply.tool_call is None
        assert reply.content == f"You said: {text}"
    else:
        assert reply.tool_call is not None
        assert reply.tool_call.name == expected
        assert reply.content is None
        assert reply.finish_reason == "tool_calls"


def test_tool_call_arguments_validate() -> None:
    """The arguments are compact JSON of a value valid under the function's parameters."""
    reply = plan_reply(body("get weather", tools=TOOLS), 1000)
    assert reply.tool_call is not None
    arguments = reply.tool_call.arguments
    assert arguments == json.dumps(json.loads(arguments), separators=(",", ":"))
    jsonschema.validate(json.loads(arguments), WEATHER_PARAMS)


def test_tool_without_parameters_gets_empty_object() -> None:
    """A function with an empty or missing parameters schema is called with {}."""
    tools = [{"type": "function", "function": {"name": "ping"}}]
    reply = plan_reply(body("ping", tools=tools), 100)
    assert reply.tool_call is not None
    assert reply.tool_call.arguments == "{}"


def test_tool_call_id_is_deterministic() -> None:
    """The call id is call_ + 24 hex, equal for equal requests, different for others."""
    first = plan_reply(body("get weather", tools=TOOLS), 1000).tool_call
    again = plan_reply(body("get weather", tools=TOOLS, stream=True), 1000).tool_call
    other = plan_reply(body("get weather now", tools=TOOLS), 1000).tool_call
    assert first is not None and again is not None and other is not None
    assert re.fullmatch(r"call_[0-9a-f]{24}", first.id)
    assert first.id == again.id
    assert first.id != other.id


def test_tool_call_usage_counts_name_and_arguments() -> None:
    """A tool call's completion tokens are the name's tokens plus the arguments' tokens."""
    reply = plan_reply(body("get weather", tools=TOOLS), 1000)
    assert reply.tool_call is not None
    expected = count_tokens("get_weather") + count_tokens(reply.tool_call.arguments)
    assert reply.completion_tokens == expected


def test_tool_call_truncated_by_length() -> None:
    """A short budget truncates the arguments by tokens and finishes with length."""
    full = plan_reply(body("get weather", tools=TOOLS), 1000).tool_call
    assert full is not None
    budget = count_tokens("get_weather") + 3
    reply = plan_reply(body("get weather", tools=TOOLS, max_tokens=budget), 1000)
    assert reply.tool_call is not None
    assert reply.finish_reason == "length"
    assert reply.completion_tokens == budget
    assert reply.tool_call.arguments == "".join(tokenize(full.arguments)[:3])


# --- JSON modes -------------------------------------------------------------------------


def test_json_object_wraps_reply() -> None:
    """json_object mode answers with compact {"reply": <text reply>}."""
    reply = plan_reply(body("hi", response_format={"type": "json_object"}), 100)
    assert reply.content == '{"reply":"You said: hi"}'


def test_json_schema_output_validates() -> None:
    """json_schema mode answers with compact JSON valid under the given schema."""
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string", "minLength": 3},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "score": {"type": "number", "minimum": 0.5, "maximum": 1},
            "kind": {"$ref": "#/$defs/kind"},
        },
        "required": ["title", "tags", "score", "kind"],
        "additionalProperties": False,
        "$defs": {"kind": {"enum": ["a", "b"]}},
    }
    response_format = {
        "type": "json_schema",
        "json_schema": {"name": "thing", "schema": schema, "strict": True},
    }
    reply = plan_reply(body("make a thing", response_format=response_format), 1000)
    assert reply.content is not None
    jsonschema.validate(json.loads(reply.content), schema)
    assert ", " not in reply.content and ": " not in reply.content


def test_text_format_is_plain() -> None:
    """response_format text leaves the reply as plain text."""
    assert plan_reply(body("hi", response_format={"type": "text"}), 100).content == "You said: hi"


# --- stop and length --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stop", "expected"),
    [
        ("green", "You said: red "),
        (["blue", "green"], "You said: red "),
        (["zzz"], "You said: red green blue"),
        (["", "blue"], "You said: red green "),
        (None, "You said: red green blue"),
    ],
    ids=["string", "earliest of list", "absent", "empty string ignored", "null"],
)
def test_stop_sequences(stop: Any, expected: str) -> None:
    """The reply is cut before the earliest stop string, which is not emitted."""
    reply = plan_reply(body("red green blue", stop=stop), 100)
    assert reply.content == expected
    assert reply.finish_reason == "stop"
    assert reply.completion_tokens == count_tokens(expected)


@pytest.mark.parametrize("key", ["max_tokens", "max_completion_tokens"])
def test_length_truncation(key: str) -> None:
    """A budget smaller than the reply emits exactly that many tokens and finishes with length."""
    text = "the quick brown fox jumps over the lazy dog"
    reply = plan_reply(body(text, **{key: 4}), 100)
    assert reply.finish_reason == "length"
    assert reply.completion_tokens == 4
    assert reply.content == "".join(tokenize(f"You said: {text}")[:4])


def test_model_max_output_tokens_is_default_budget() -> None:
    """Without a requested limit, the model's max_output_tokens is the budget."""
    reply = plan_reply(body("one two three four five"), 3)
    assert reply.finish_reason == "length"
    assert reply.completion_tokens == 3


def test_budget_exactly_fits() -> None:
    """A reply of exactly the budget finishes with stop, not length."""
    needed = count_tokens("You said: hi")
    reply = plan_reply(body("hi", max_tokens=needed), 100)
    assert reply.finish_reason == "stop"
    assert reply.completion_tokens == needed


# --- usage ------------------------------------------------------------------------------


def test_prompt_tokens_are_exact() -> None:
    """prompt_tokens is count_chat_tokens over the messages and tools."""
    request = body([{"type": "text", "text": "weather?"}], tools=TOOLS, tool_choice="none")
    reply = plan_reply(request, 100)
    assert reply.prompt_tokens == count_chat_tokens(request["messages"], TOOLS)


def test_completion_tokens_count_text_tokens() -> None:
    """completion_tokens is the number of tokens of the emitted text."""
    reply = plan_reply(body("Tokenization is deterministic!"), 100)
    assert reply.content is not None
    assert reply.completion_tokens == len(tokenize(reply.content)) == len(reply.content_tokens)


def test_plan_is_deterministic() -> None:
    """The same request always gets the same plan."""
    request = body("get weather", tools=TOOLS, n=2, max_tokens=9)
    assert plan_reply(request, 100) == plan_reply(request, 100)


# --- rendering --------------------------------------------------------------------------


def test_completion_object_shape() -> None:
    """completion() renders a chat.completion with message, finish_reason and usage."""
    reply = plan_reply(body("hi"), 100)
    assert render(reply) == {
        "id": "chatcmpl_x",
        "object": "chat.completion",
        "created": 7,
        "model": "local-chat",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "You said: hi", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": reply.completion_tokens,
            "total_tokens": reply.prompt_tokens + reply.completion_tokens,
        },
    }


def test_completion_with_tool_call() -> None:
    """A tool call renders as tool_calls with null content."""
    reply = plan_reply(body("get weather", tools=TOOLS), 100)
    assert reply.tool_call is not None
    message = render(reply)["choices"][0]["message"]
    assert message["content"] is None
    assert message["tool_calls"] == [
        {
            "id": reply.tool_call.id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": reply.tool_call.arguments},
        }
    ]


def test_n_choices() -> None:
    """n identical choices are rendered with their own indexes; usage counts them all."""
    reply = plan_reply(body("hi", n=3), 100)
    assert choice_count(body("hi", n=3)) == 3
    rendered = render(reply, n=3)
    assert [choice["index"] for choice in rendered["choices"]] == [0, 1, 2]
    assert len({json.dumps(c["message"]) for c in rendered["choices"]}) == 1
    assert rendered["usage"]["completion_tokens"] == 3 * reply.completion_tokens


@pytest.mark.parametrize("n", [None, 0, True, "2"])
def test_choice_count_defaults_to_one(n: Any) -> None:
    """An absent or unusable n means one choice."""
    assert choice_count(body("hi", n=n)) == 1


# --- streaming --------------------------------------------------------------------------


def test_every_chunk_is_a_chunk_object() -> None:
    """Every streamed object carries id, object, created and model."""
    for item in stream(plan_reply(body("hi"), 100)):
        assert item["id"] == "chatcmpl_x"
        assert item["object"] == "chat.completion.chunk"
        assert item["created"] == 7
        assert item["model"] == "local-chat"


def test_stream_text_matches_completion() -> None:
    """Streamed content joins to the non-streamed content, one chunk per completion token."""
    reply = plan_reply(body("The streaming reply is split into tokens."), 100)
    items = stream(reply)
    assert items[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    content = [c["choices"][0]["delta"]["content"] for c in items[1:-2]]
    assert len(content) == reply.completion_tokens
    assert "".join(content) == render(reply)["choices"][0]["message"]["content"]
    assert items[-2]["choices"][0] == {
        "index": 0,
        "delta": {},
        "logprobs": None,
        "finish_reason": "stop",
    }


def test_usage_chunk_is_last() -> None:
    """The final chunk has no choices and the same usage as the completion."""
    reply = plan_reply(body("hi", max_tokens=2), 100)
    items = stream(reply)
    assert items[-1]["choices"] == []
    assert items[-1]["usage"] == render(reply)["usage"]
    assert all("usage" not in item for item in items[:-1])
    assert items[-2]["choices"][0]["finish_reason"] == "length"


def test_stream_tool_call() -> None:
    """A streamed tool call sends a header chunk, then argument pieces that join up."""
    reply = plan_reply(body("get weather", tools=TOOLS), 100)
    assert reply.tool_call is not None
    items = stream(reply)
    header = items[1]["choices"][0]["delta"]["tool_calls"][0]
    assert header == {
        "index": 0,
        "id": reply.tool_call.id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    pieces = [c["choices"][0]["delta"]["tool_calls"][0] for c in items[2:-2]]
    assert all(set(piece) == {"index", "function"} for piece in pieces)
    assert "".join(p["function"]["arguments"] for p in pieces) == reply.tool_call.arguments
    assert reply.completion_tokens == count_tokens("get_weather") + len(pieces)
    assert items[-2]["choices"][0]["finish_reason"] == "tool_calls"


def test_stream_n_choices() -> None:
    """With n choices every index streams the same content and its own finish chunk."""
    reply = plan_reply(body("hi", n=2), 100)
    items = stream(reply, n=2)
    for index in (0, 1):
        mine = [c["choices"][0] for c in items[:-1] if c["choices"][0]["index"] == index]
        text = "".join(c["delta"].get("content", "") for c in mine)
        assert text == reply.content
        assert [c["finish_reason"] for c in mine].count("stop") == 1
    content_chunks = [c for c in items[:-1] if c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) == items[-1]["usage"]["completion_tokens"]


def test_empty_reply_streams_no_content() -> None:
    """A reply cut to nothing streams only the role, finish and usage chunks."""
    reply = plan_reply(body("hi", stop="You"), 100)
    assert reply.content == ""
    assert reply.completion_tokens == 0
    assert len(stream(reply)) == 3
