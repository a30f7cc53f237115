"""Chat completions ⇄ an Anthropic upstream, as pure functions: the request sent,
the whole message answered, and the stream of events decoded into chat chunks."""

from __future__ import annotations

from typing import Any

import pytest

from nanogate.errors import (
    InvalidParameterValue,
    RateLimitExceeded,
    ServiceUnavailable,
    UnsupportedInputModality,
)
from nanogate.providers._anthropic_reply import chat_completion, finish_reason
from nanogate.providers._anthropic_request import messages_request
from nanogate.providers._anthropic_stream import AnthropicChunks

USER = {"role": "user", "content": "Hi"}


def translate(*messages: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return messages_request(
        {"model": "claude-x", "messages": list(messages), **extra}, 1024, stream=False
    )


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


# Requests --------------------------------------------------------------------------------


def test_a_minimal_request() -> None:
    """One user message: the model, the default max_tokens and one user turn of text."""
    assert translate(USER) == {
        "model": "claude-x",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": [text("Hi")]}],
    }


def test_system_and_developer_messages_become_the_system_prompt() -> None:
    """System and developer messages, wherever they are, join into ``system`` in order."""
    request = translate(
        {"role": "system", "content": "Be brief."},
        USER,
        {"role": "developer", "content": [text("Answer in French.")]},
    )
    assert request["system"] == "Be brief.\n\nAnswer in French."
    assert request["messages"] == [{"role": "user", "content": [text("Hi")]}]


def test_a_tool_result_without_content_is_an_empty_result() -> None:
    """A tool message may omit ``content``: its result is empty, not an error."""
    request = translate(
        USER,
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "a", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1"},
    )
    assert request["messages"][-1] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "c1", "content": ""}],
    }


def test_tool_calls_and_results_become_tool_use_and_tool_result_blocks() -> None:
    """Assistant tool calls → tool_use blocks (arguments parsed); consecutive tool
    messages → tool_result blocks of one user turn, followed by the next user text."""
    request = translate(
        USER,
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "a", "arguments": '{"x": 1}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "b", "arguments": "not json"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "one"},
        {"role": "tool", "tool_call_id": "c2", "content": [text("t"), text("wo")]},
        {"role": "user", "content": "Thanks"},
    )
    assert request["messages"] == [
        {"role": "user", "content": [text("Hi")]},
        {
            "role": "assistant",
            "content": [
                text("Checking."),
                {"type": "tool_use", "id": "c1", "name": "a", "input": {"x": 1}},
                {"type": "tool_use", "id": "c2", "name": "b", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "c1", "content": "one"},
                {"type": "tool_result", "tool_use_id": "c2", "content": "two"},
                text("Thanks"),
            ],
        },
    ]


def test_empty_text_never_becomes_an_empty_block() -> None:
    """Anthropic refuses empty text blocks: an assistant turn with only tool calls has
    none, and an empty assistant message is dropped."""
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    request = translate(
        USER,
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c", "content": "ok"},
        {"role": "assistant", "content": ""},
    )
    assert request["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "tool_use", "id": "c", "name": "f", "input": {}}],
    }
    assert len(request["messages"]) == 3


def test_images_by_data_url_and_by_http_url() -> None:
    """A data: URL becomes a base64 source with its media type; an https URL a url source."""
    request = translate(
        {
            "role": "user",
            "content": [
                text("What is this?"),
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            ],
        }
    )
    assert request["messages"][0]["content"] == [
        text("What is this?"),
        {
            "type": "image",
            "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
        },
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]


def test_files_become_documents() -> None:
    """A PDF file part is a base64 document; a text file a text document; a file URL a
    url document."""
    request = translate(
        {
            "role": "user",
            "content": [
                {
                    "type": "file",
                    "file": {
                        "file_data": "data:application/pdf;base64,JVBERi0=",
                        "filename": "a.pdf",
                    },
                },
                {"type": "file", "file": {"file_data": "data:text/plain;base64,aGVsbG8="}},
                {"type": "file", "file": {"file_url": "https://example.com/b.pdf"}},
            ],
        }
    )
    assert request["messages"][0]["content"] == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
        },
        {
            "type": "document",
            "source": {"type": "text", "media_type": "text/plain", "data": "hello"},
        },
        {"type": "document", "source": {"type": "url", "url": "https://example.com/b.pdf"}},
    ]


@pytest.mark.parametrize(
    ("part", "error"),
    [
        (
            {"type": "input_audio", "input_audio": {"data": "AAA=", "format": "wav"}},
            UnsupportedInputModality,
        ),
        (
            {"type": "video_url", "video_url": {"url": "https://example.com/v.mp4"}},
            UnsupportedInputModality,
        ),
        (
            {"type": "image_url", "image_url": {"url": "ftp://example.com/a.png"}},
            InvalidParameterValue,
        ),
        ({"type": "file", "file": {"file_id": "file-123"}}, InvalidParameterValue),
    ],
)
def test_inputs_anthropic_cannot_take_are_refused(
    part: dict[str, Any], error: type[Exception]
) -> None:
    """Audio and video, images that are neither data: nor http(s), and uploaded file ids
    are refused before anything is sent, with param ``messages``."""
    with pytest.raises(error) as caught:
        translate({"role": "user", "content": [part]})
    assert getattr(caught.value, "param", None) == "messages"


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        (
            {"type": "function", "function": {"name": "weather"}},
            {"type": "tool", "name": "weather"},
        ),
    ],
)
def test_tools_and_tool_choice(choice: Any, expected: dict[str, Any]) -> None:
    """Function tools become tools with input_schema; auto/none/required/named become
    auto/none/any/tool."""
    function = {"name": "weather", "description": "Weather now", "parameters": {"type": "object"}}
    request = translate(
        USER, tools=[{"type": "function", "function": function}], tool_choice=choice
    )
    assert request["tools"] == [
        {"name": "weather", "description": "Weather now", "input_schema": {"type": "object"}}
    ]
    assert request["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    """parallel_tool_calls: false sets disable_parallel_tool_use, on auto when no choice
    is given; a tool without parameters gets an empty object schema."""
    tools = [{"type": "function", "function": {"name": "f"}}]
    request = translate(USER, tools=tools, parallel_tool_calls=False)
    assert request["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    assert request["tools"] == [{"name": "f", "input_schema": {"type": "object", "properties": {}}}]
    assert "tool_choice" not in translate(USER, tools=tools)


def test_sampling_limits_and_stop() -> None:
    """stop → stop_sequences (a string becomes a list); temperature, top_p and user carry
    over; max_completion_tokens wins over max_tokens; stream is set only when asked."""
    request = translate(USER, stop="END", temperature=0.2, top_p=0.9, user="u-1", max_tokens=50)
    assert request["stop_sequences"] == ["END"]
    assert (request["temperature"], request["top_p"]) == (0.2, 0.9)
    assert request["metadata"] == {"user_id": "u-1"}
    assert request["max_tokens"] == 50 and "stream" not in request
    assert translate(USER, stop=["a", "b"])["stop_sequences"] == ["a", "b"]
    assert translate(USER, max_tokens=50, max_completion_tokens=70)["max_tokens"] == 70
    streamed = messages_request({"model": "m", "messages": [USER], "stream": True}, 9, stream=True)
    assert streamed["stream"] is True


def test_chat_only_knobs_are_not_sent() -> None:
    """Fields Messages does not have are left out rather than refused upstream."""
    request = translate(
        USER,
        n=1,
        seed=7,
        presence_penalty=0.5,
        frequency_penalty=0.5,
        logprobs=True,
        response_format={"type": "json_object"},
        stream_options={"include_usage": True},
    )
    assert set(request) == {"model", "max_tokens", "messages"}


# Whole replies ---------------------------------------------------------------------------


def message(content: list[dict[str, Any]], stop: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 5, "output_tokens": 3},
    }


def test_a_text_reply() -> None:
    """Text blocks join into the message content; the finish reason is stop."""
    completion = chat_completion(message([text("Hello"), text(" there")]), created=7)
    assert completion == {
        "id": "msg_1",
        "object": "chat.completion",
        "created": 7,
        "model": "claude-x",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there"},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 5,
            "completion_tokens": 3,
            "total_tokens": 8,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def test_tool_use_blocks_become_tool_calls_with_json_arguments() -> None:
    """tool_use → tool_calls with the input as a JSON string; thinking blocks are left out."""
    blocks: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
    ]
    reply = chat_completion(message(blocks, "tool_use"), created=0)["choices"][0]
    assert reply["finish_reason"] == "tool_calls"
    assert reply["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }


@pytest.mark.parametrize(
    ("stop", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("pause_turn", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        (None, "stop"),
        ("new_reason", "stop"),
    ],
)
def test_stop_reasons(stop: Any, finish: str) -> None:
    """end_turn/stop_sequence → stop, max_tokens → length, tool_use → tool_calls,
    refusal → content_filter; unknown or missing reasons stop."""
    reply = chat_completion({**message([text("x")]), "stop_reason": stop}, created=0)
    assert reply["choices"][0]["finish_reason"] == finish == finish_reason(stop)


def test_cache_reads_and_writes_count_as_prompt_tokens() -> None:
    """Input, cache-read and cache-creation tokens all count as prompt tokens."""
    usage = chat_completion(
        message(
            [text("x")],
            input_tokens=6,
            cache_read_input_tokens=3,
            cache_creation_input_tokens=1,
            output_tokens=4,
        ),
        created=0,
    )["usage"]
    assert usage == {
        "prompt_tokens": 10,
        "completion_tokens": 4,
        "total_tokens": 14,
        "prompt_tokens_details": {"cached_tokens": 3},
    }


def test_a_reply_without_token_counts_reports_no_usage() -> None:
    """No counts from the upstream → no usage, so the gateway estimates instead of
    charging zero."""
    reply = {**message([text("x")]), "usage": {}}
    assert "usage" not in chat_completion(reply, created=0)


@pytest.mark.parametrize(
    "answer", [[1], {"type": "message"}, {"content": "text"}, {"content": ["text"]}]
)
def test_a_reply_not_shaped_like_a_message_is_malformed(answer: Any) -> None:
    """Anything but an object with a list of block objects raises ValueError."""
    with pytest.raises(ValueError):
        chat_completion(answer, created=0)


# Streams -------------------------------------------------------------------------------


def decode(*events: dict[str, Any]) -> tuple[list[dict[str, Any]], AnthropicChunks]:
    decoder = AnthropicChunks(created=1)
    chunks = [chunk for event in events for chunk in decoder.feed(event)]
    return chunks, decoder


START = {
    "type": "message_start",
    "message": {
        "id": "msg_9",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "stop_reason": None,
        "usage": {
            "input_tokens": 6,
            "cache_read_input_tokens": 3,
            "cache_creation_input_tokens": 1,
            "output_tokens": 1,
        },
    },
}


def block_start(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def block_delta(index: int, delta: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def end(stop: str = "end_turn", output_tokens: int = 7) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


def deltas(chunks: list[dict[str, Any]]) -> list[Any]:
    return [
        (c["choices"][0]["delta"], c["choices"][0]["finish_reason"]) if c["choices"] else c["usage"]
        for c in chunks
    ]


def test_a_text_stream() -> None:
    """Role chunk, one content chunk per text delta, the finish chunk, then a usage chunk
    with no choices; ping and block stops produce nothing."""
    chunks, decoder = decode(
        START,
        {"type": "ping"},
        block_start(0, text("")),
        block_delta(0, {"type": "text_delta", "text": "Hel"}),
        block_delta(0, {"type": "text_delta", "text": "lo"}),
        {"type": "content_block_stop", "index": 0},
        *end(),
    )
    assert deltas(chunks) == [
        ({"role": "assistant", "content": ""}, None),
        ({"content": "Hel"}, None),
        ({"content": "lo"}, None),
        ({}, "stop"),
        {
            "prompt_tokens": 10,
            "completion_tokens": 7,
            "total_tokens": 17,
            "prompt_tokens_details": {"cached_tokens": 3},
        },
    ]
    assert decoder.done
    assert {(c["id"], c["model"], c["object"], c["created"]) for c in chunks} == {
        ("msg_9", "claude-x", "chat.completion.chunk", 1)
    }


def test_a_tool_call_stream() -> None:
    """Each tool_use block is a tool call with its own index: first its id and name, then
    its argument fragments; a thinking block in between is skipped."""
    chunks, _ = decode(
        START,
        block_start(0, {"type": "thinking", "thinking": ""}),
        block_delta(0, {"type": "thinking_delta", "thinking": "Let me see"}),
        block_start(1, {"type": "tool_use", "id": "toolu_a", "name": "weather", "input": {}}),
        block_delta(1, {"type": "input_json_delta", "partial_json": ""}),
        block_delta(1, {"type": "input_json_delta", "partial_json": '{"city":'}),
        block_delta(1, {"type": "input_json_delta", "partial_json": '"Paris"}'}),
        block_start(2, {"type": "tool_use", "id": "toolu_b", "name": "time", "input": {}}),
        block_delta(2, {"type": "input_json_delta", "partial_json": "{}"}),
        *end("tool_use"),
    )
    assert deltas(chunks)[1:-1] == [
        (
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "type": "function",
                        "id": "toolu_a",
                        "function": {"name": "weather", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}, None),
        ({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}, None),
        (
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "type": "function",
                        "id": "toolu_b",
                        "function": {"name": "time", "arguments": ""},
                    }
                ]
            },
            None,
        ),
        ({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}, None),
        ({}, "tool_calls"),
    ]


def test_usage_takes_the_latest_count_of_each_kind() -> None:
    """message_delta's counts replace message_start's (its input count too, when sent)."""
    chunks, _ = decode(
        START,
        {
            "type": "message_delta",
            "delta": {"stop_reason": "max_tokens"},
            "usage": {"input_tokens": 8, "output_tokens": 30},
        },
        {"type": "message_stop"},
    )
    assert chunks[-2]["choices"][0]["finish_reason"] == "length"
    assert (
        chunks[-1]["usage"]["prompt_tokens"] == 12
        and chunks[-1]["usage"]["completion_tokens"] == 30
    )


def test_the_stream_is_done_only_at_message_stop() -> None:
    """Until message_stop the decoder is not done, even after the finish chunk; a stop
    without a message_delta still finishes the answer."""
    chunks, decoder = decode(START, end()[0])
    assert not decoder.done and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    chunks, decoder = decode(START, {"type": "message_stop"})
    assert decoder.done and deltas(chunks)[1] == ({}, "stop")


def test_unknown_events_are_ignored() -> None:
    """Event types the decoder does not know (Anthropic may add some) yield nothing."""
    chunks, _ = decode(START, {"type": "something_new", "x": 1}, {"no_type": True})
    assert len(chunks) == 1


@pytest.mark.parametrize(
    ("kind", "error"),
    [("overloaded_error", ServiceUnavailable), ("rate_limit_error", RateLimitExceeded)],
)
def test_an_error_event_raises_the_mapped_error(kind: str, error: type[Exception]) -> None:
    """``event: error`` raises its catalogue error, by its type."""
    decoder = AnthropicChunks(created=0)
    decoder.feed(START)
    with pytest.raises(error):
        decoder.feed({"type": "error", "error": {"type": kind, "message": "Overloaded"}})
