"""Anthropic Messages ⇄ chat completions: the request and whole-reply translators."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

import nanogate.translate
from nanogate.translate import chat_to_message, messages_to_chat


def request(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "claude-x", "max_tokens": 64, "messages": messages, **extra}


def completion(
    content: str | None = "Hello.",
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str | None = "stop",
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls is not None:
        message["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "upstream-x",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18},
    }


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_package_exports() -> None:
    """The package's public face is exactly these names, sorted."""
    assert nanogate.translate.__all__ == [
        "Event",
        "MessagesStream",
        "ResponsesStream",
        "chat_to_message",
        "chat_to_response",
        "messages_to_chat",
        "output_to_chat",
        "responses_to_chat",
    ]


# Requests ------------------------------------------------------------------------------


def test_minimal_request_keeps_model_and_max_tokens() -> None:
    """A string user turn becomes one user message; model and max_tokens carry over."""
    chat = messages_to_chat(request([{"role": "user", "content": "Hi"}]))
    assert chat == {
        "model": "claude-x",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_system_string_becomes_leading_system_message() -> None:
    """A string ``system`` becomes the first chat message."""
    chat = messages_to_chat(request([{"role": "user", "content": "Hi"}], system="Be brief."))
    assert chat["messages"][0] == {"role": "system", "content": "Be brief."}


def test_system_blocks_are_joined() -> None:
    """A list of system text blocks becomes one system message, blocks joined by newlines."""
    system = [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]
    chat = messages_to_chat(request([{"role": "user", "content": "Hi"}], system=system))
    assert chat["messages"][0] == {"role": "system", "content": "One.\nTwo."}


def test_single_text_block_becomes_plain_string() -> None:
    """A user turn of one text block is sent as a plain string."""
    chat = messages_to_chat(
        request([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])
    )
    assert chat["messages"] == [{"role": "user", "content": "Hi"}]


def test_images_become_image_url_parts() -> None:
    """base64 images become data URLs; url images keep their URL."""
    blocks = [
        {"type": "text", "text": "Compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}},
        {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}},
    ]
    chat = messages_to_chat(request([{"role": "user", "content": blocks}]))
    assert chat["messages"][0]["content"] == [
        {"type": "text", "text": "Compare"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
        {"type": "image_url", "image_url": {"url": "https://x.test/a.jpg"}},
    ]


@pytest.mark.parametrize(
    ("source", "part"),
    [
        (
            {"type": "base64", "media_type": "application/pdf", "data": "JVBE"},
            {
                "type": "file",
                "file": {
                    "file_data": "data:application/pdf;base64,JVBE",
                    "filename": "document.pdf",
                },
            },
        ),
        (
            {"type": "url", "url": "https://x.test/a.pdf"},
            {"type": "file", "file": {"file_url": "https://x.test/a.pdf"}},
        ),
        (
            {"type": "text", "media_type": "text/plain", "data": "hi"},
            {
                "type": "file",
                "file": {"file_data": "data:text/plain;base64,aGk=", "filename": "document.txt"},
            },
        ),
    ],
)
def test_documents_become_file_parts(source: dict[str, Any], part: dict[str, Any]) -> None:
    """Each document source kind becomes the matching chat ``file`` part."""
    blocks = [{"type": "document", "source": source}, {"type": "text", "text": "Summarise"}]
    chat = messages_to_chat(request([{"role": "user", "content": blocks}]))
    assert chat["messages"][0]["content"] == [part, {"type": "text", "text": "Summarise"}]


def test_tool_use_becomes_tool_calls_and_thinking_is_dropped() -> None:
    """Assistant tool_use blocks become tool_calls with compact JSON; thinking is dropped."""
    blocks = [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "redacted_thinking", "data": "xx"},
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_1", "name": "find", "input": {"q": "a b", "n": 2}},
    ]
    chat = messages_to_chat(request([{"role": "assistant", "content": blocks}]))
    assert chat["messages"] == [
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [call("toolu_1", "find", '{"q":"a b","n":2}')],
        }
    ]


def test_tool_use_only_has_null_content() -> None:
    """An assistant turn made only of tool_use has ``content: None``."""
    blocks = [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]
    chat = messages_to_chat(request([{"role": "assistant", "content": blocks}]))
    assert chat["messages"] == [
        {"role": "assistant", "content": None, "tool_calls": [call("t", "f", "{}")]}
    ]


def test_tool_results_precede_the_rest_of_the_user_turn() -> None:
    """tool_result blocks become tool messages, in order, before the user's other content."""
    blocks = [
        {"type": "text", "text": "Here you go."},
        {"type": "tool_result", "tool_use_id": "t1", "content": "42"},
        {
            "type": "tool_result",
            "tool_use_id": "t2",
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
        },
    ]
    chat = messages_to_chat(request([{"role": "user", "content": blocks}]))
    assert chat["messages"] == [
        {"role": "tool", "tool_call_id": "t1", "content": "42"},
        {"role": "tool", "tool_call_id": "t2", "content": "a\nb"},
        {"role": "user", "content": "Here you go."},
    ]


def test_tool_result_alone_makes_no_user_message() -> None:
    """A user turn of only tool results yields only tool messages."""
    blocks = [{"type": "tool_result", "tool_use_id": "t1"}]
    chat = messages_to_chat(request([{"role": "user", "content": blocks}]))
    assert chat["messages"] == [{"role": "tool", "tool_call_id": "t1", "content": ""}]


def test_error_tool_result_is_marked_in_text() -> None:
    """``is_error`` survives as an ``Error:`` prefix, since chat has no error flag."""
    blocks = [{"type": "tool_result", "tool_use_id": "t1", "content": "boom", "is_error": True}]
    chat = messages_to_chat(request([{"role": "user", "content": blocks}]))
    assert chat["messages"] == [{"role": "tool", "tool_call_id": "t1", "content": "Error: boom"}]


def test_images_in_tool_results_move_to_the_user_message() -> None:
    """An image returned by a tool follows the tool message as user content."""
    image = {"type": "image", "source": {"type": "url", "url": "https://x.test/p.png"}}
    blocks = [
        {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": [{"type": "text", "text": "ok"}, image],
        }
    ]
    chat = messages_to_chat(request([{"role": "user", "content": blocks}]))
    assert chat["messages"] == [
        {"role": "tool", "tool_call_id": "t1", "content": "ok"},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "https://x.test/p.png"}}],
        },
    ]


def test_tools_become_function_tools() -> None:
    """Anthropic tools become chat function tools with ``parameters``."""
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    tools = [
        {"name": "find", "description": "Search.", "input_schema": schema},
        {"name": "bare", "input_schema": {"type": "object"}},
    ]
    chat = messages_to_chat(request([{"role": "user", "content": "Hi"}], tools=tools))
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {"name": "find", "description": "Search.", "parameters": schema},
        },
        {"type": "function", "function": {"name": "bare", "parameters": {"type": "object"}}},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "find"}, {"type": "function", "function": {"name": "find"}}),
    ],
)
def test_tool_choice_mapping(choice: dict[str, Any], expected: Any) -> None:
    """Each Anthropic tool_choice type maps to its chat equivalent."""
    chat = messages_to_chat(request([{"role": "user", "content": "Hi"}], tool_choice=choice))
    assert chat["tool_choice"] == expected
    assert "parallel_tool_calls" not in chat


def test_disable_parallel_tool_use() -> None:
    """``disable_parallel_tool_use: true`` becomes ``parallel_tool_calls: false``."""
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    chat = messages_to_chat(request([{"role": "user", "content": "Hi"}], tool_choice=choice))
    assert chat["tool_choice"] == "auto"
    assert chat["parallel_tool_calls"] is False


def test_sampling_and_metadata_parameters() -> None:
    """stop_sequences→stop, metadata.user_id→user; sampling and stream copied; top_k dropped."""
    chat = messages_to_chat(
        request(
            [{"role": "user", "content": "Hi"}],
            stop_sequences=["END"],
            temperature=0.2,
            top_p=0.9,
            top_k=5,
            stream=True,
            metadata={"user_id": "u-1"},
            service_tier="auto",
        )
    )
    assert {k: v for k, v in chat.items() if k != "messages"} == {
        "model": "claude-x",
        "max_tokens": 64,
        "stop": ["END"],
        "temperature": 0.2,
        "top_p": 0.9,
        "stream": True,
        "user": "u-1",
    }


# Replies -------------------------------------------------------------------------------


def test_text_reply() -> None:
    """A text completion becomes a message with one text block and end_turn."""
    message = chat_to_message(completion("Hello."), model="claude-x", message_id="msg_1")
    assert message == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "Hello."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 7},
    }
    assert anthropic.types.Message.model_validate(message).content[0].type == "text"


def test_tool_call_reply() -> None:
    """Tool calls become tool_use blocks after the text, with parsed input."""
    calls = [call("call_1", "find", '{"q": "x"}'), call("call_2", "now", "")]
    message = chat_to_message(
        completion("Looking.", calls, "tool_calls"), model="claude-x", message_id="msg_1"
    )
    assert message["content"] == [
        {"type": "text", "text": "Looking."},
        {"type": "tool_use", "id": "call_1", "name": "find", "input": {"q": "x"}},
        {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
    ]
    assert message["stop_reason"] == "tool_use"
    parsed = anthropic.types.Message.model_validate(message)
    assert [block.type for block in parsed.content] == ["text", "tool_use", "tool_use"]


@pytest.mark.parametrize("arguments", ["not json", "[1, 2]", "3", "{"])
def test_tool_input_that_is_not_an_object_becomes_empty(arguments: str) -> None:
    """Arguments that are not a JSON object give ``input: {}``."""
    message = chat_to_message(
        completion(None, [call("c", "f", arguments)], "tool_calls"), model="m", message_id="msg"
    )
    assert message["content"] == [{"type": "tool_use", "id": "c", "name": "f", "input": {}}]


def test_empty_content_gives_no_text_block() -> None:
    """Empty or null content adds no text block."""
    for content in ("", None):
        message = chat_to_message(completion(content), model="m", message_id="msg")
        assert message["content"] == []
        anthropic.types.Message.model_validate(message)


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
        ("tool_calls", "end_turn"),
        (None, "end_turn"),
    ],
)
def test_stop_reason_of_a_reply_without_tool_calls(
    finish_reason: str | None, stop_reason: str
) -> None:
    """Without tool calls, a turn cut short keeps its reason and any other ends the
    turn, even one the upstream called ``tool_calls``."""
    message = chat_to_message(completion(finish_reason=finish_reason), model="m", message_id="msg")
    assert message["stop_reason"] == stop_reason
    anthropic.types.Message.model_validate(message)


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("tool_calls", "tool_use"),
        ("stop", "tool_use"),
        (None, "tool_use"),
        ("function_call", "tool_use"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
    ],
)
def test_stop_reason_of_a_reply_with_tool_calls(
    finish_reason: str | None, stop_reason: str
) -> None:
    """Tool calls mean tool_use whatever word the upstream finished with (``stop`` for a
    forced call on OpenAI), unless the turn was cut short."""
    calls = [call("call_1", "find", '{"q": "x"}')]
    message = chat_to_message(
        completion(None, calls, finish_reason),
        model="m",
        message_id="msg",
    )
    assert message["stop_reason"] == stop_reason
    anthropic.types.Message.model_validate(message)


def test_reply_round_trips_as_the_next_assistant_turn() -> None:
    """A translated reply sent back as an assistant turn yields the original chat message."""
    original = completion("Looking.", [call("call_1", "find", '{"q":"x"}')], "tool_calls")
    message = chat_to_message(original, model="m", message_id="msg")
    chat = messages_to_chat(request([{"role": "assistant", "content": message["content"]}]))
    assert chat["messages"] == [original["choices"][0]["message"]]
