"""OpenAI Responses ⇄ chat completions: request, response object and stored conversation."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.responses import Response

from nanogate.translate import chat_to_response, output_to_chat, responses_to_chat


def completion(
    content: str | None = "Hello.",
    tool_calls: list[dict[str, Any]] | None = None,
    finish_reason: str = "stop",
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


def respond(chat: dict[str, Any], **request: Any) -> dict[str, Any]:
    return chat_to_response(
        chat,
        request={"model": "gpt-x", "input": "Hi", **request},
        response_id="resp_abc",
        created_at=1700000001,
        model="gpt-x",
    )


# Requests ------------------------------------------------------------------------------


def test_string_input_with_instructions_and_history() -> None:
    """Instructions lead the chat request but stay out of the conversation; history comes first."""
    history = [{"role": "user", "content": "Before"}, {"role": "assistant", "content": "Ok"}]
    body = {"model": "gpt-x", "input": "Hi", "instructions": "Be brief."}
    chat, conversation = responses_to_chat(body, history)
    assert conversation == [*history, {"role": "user", "content": "Hi"}]
    assert chat == {
        "model": "gpt-x",
        "messages": [{"role": "system", "content": "Be brief."}, *conversation],
    }
    assert history == [
        {"role": "user", "content": "Before"},
        {"role": "assistant", "content": "Ok"},
    ]


def test_message_items_with_parts() -> None:
    """Each input part type becomes its chat content part."""
    parts = [
        {"type": "input_text", "text": "Look"},
        {"type": "input_image", "image_url": "https://x.test/a.png", "detail": "low"},
        {
            "type": "input_file",
            "file_data": "data:application/pdf;base64,JVBE",
            "filename": "a.pdf",
        },
        {"type": "input_file", "file_url": "https://x.test/b.pdf"},
        {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
    ]
    _, conversation = responses_to_chat(
        {"model": "m", "input": [{"type": "message", "role": "user", "content": parts}]}, []
    )
    assert conversation == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Look"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://x.test/a.png", "detail": "low"},
                },
                {
                    "type": "file",
                    "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "a.pdf"},
                },
                {"type": "file", "file": {"file_url": "https://x.test/b.pdf"}},
                {"type": "input_audio", "input_audio": {"data": "UklG", "format": "wav"}},
            ],
        }
    ]


def test_roles_and_text_only_content() -> None:
    """Items without ``type`` are messages; text-only content flattens; developer becomes system."""
    items = [
        {"role": "developer", "content": [{"type": "input_text", "text": "Rules."}]},
        {"role": "system", "content": "More rules."},
        {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [
                {"type": "output_text", "text": "Hel", "annotations": []},
                {"type": "output_text", "text": "lo", "annotations": []},
            ],
        },
    ]
    _, conversation = responses_to_chat({"model": "m", "input": items}, [])
    assert conversation == [
        {"role": "system", "content": "Rules."},
        {"role": "system", "content": "More rules."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]


def test_function_calls_merge_and_outputs_become_tool_messages() -> None:
    """Consecutive function_call items form one assistant message; outputs become tool messages."""
    items = [
        {"role": "user", "content": "Weather?"},
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": '{"c":"A"}'},
        {"type": "function_call", "call_id": "c2", "name": "w", "arguments": '{"c":"B"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "sun"},
        {"type": "function_call_output", "call_id": "c2", "output": "rain"},
    ]
    _, conversation = responses_to_chat({"model": "m", "input": items}, [])
    assert conversation == [
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [call("c1", "w", '{"c":"A"}'), call("c2", "w", '{"c":"B"}')],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sun"},
        {"role": "tool", "tool_call_id": "c2", "content": "rain"},
    ]


def test_function_call_joins_the_preceding_assistant_text() -> None:
    """A function_call right after an assistant message joins it, as chat would have sent it."""
    items = [
        {"role": "assistant", "content": "Checking."},
        {"type": "function_call", "call_id": "c1", "name": "w", "arguments": "{}"},
    ]
    _, conversation = responses_to_chat({"model": "m", "input": items}, [])
    assert conversation == [
        {"role": "assistant", "content": "Checking.", "tool_calls": [call("c1", "w", "{}")]}
    ]


def test_tools_and_tool_choice() -> None:
    """Function tools become chat tools (others skipped); a named tool_choice takes chat form."""
    tools = [
        {
            "type": "function",
            "name": "w",
            "description": "Weather.",
            "parameters": {"type": "object"},
            "strict": True,
        },
        {"type": "web_search"},
    ]
    body = {
        "model": "m",
        "input": "Hi",
        "tools": tools,
        "tool_choice": {"type": "function", "name": "w"},
    }
    chat, _ = responses_to_chat(body, [])
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "w",
                "description": "Weather.",
                "parameters": {"type": "object"},
                "strict": True,
            },
        }
    ]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "w"}}


@pytest.mark.parametrize("choice", ["auto", "none", "required"])
def test_string_tool_choice_is_copied(choice: str) -> None:
    """String tool_choice values are the same in both dialects."""
    chat, _ = responses_to_chat({"model": "m", "input": "Hi", "tool_choice": choice}, [])
    assert chat["tool_choice"] == choice


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ({"type": "text"}, None),
        ({"type": "json_object"}, {"type": "json_object"}),
        (
            {"type": "json_schema", "name": "x", "schema": {"type": "object"}, "strict": True},
            {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": True},
            },
        ),
    ],
)
def test_text_format_becomes_response_format(fmt: dict[str, Any], expected: Any) -> None:
    """text.format maps to response_format; plain text sets none."""
    chat, _ = responses_to_chat({"model": "m", "input": "Hi", "text": {"format": fmt}}, [])
    assert chat.get("response_format") == expected


def test_scalar_parameters() -> None:
    """max_output_tokens→max_tokens; sampling, user, stream copied; storage fields dropped."""
    body = {
        "model": "m",
        "input": "Hi",
        "max_output_tokens": 50,
        "temperature": 0.3,
        "top_p": 0.8,
        "parallel_tool_calls": False,
        "user": "u",
        "stream": True,
        "store": False,
        "metadata": {"a": "b"},
        "previous_response_id": "resp_old",
    }
    chat, _ = responses_to_chat(body, [])
    assert {k: v for k, v in chat.items() if k != "messages"} == {
        "model": "m",
        "max_tokens": 50,
        "temperature": 0.3,
        "top_p": 0.8,
        "parallel_tool_calls": False,
        "user": "u",
        "stream": True,
    }


# Responses -----------------------------------------------------------------------------


def test_text_response_object() -> None:
    """A text completion becomes a completed response with one message and request echoes."""
    response = respond(completion("Hello."))
    assert response == {
        "id": "resp_abc",
        "object": "response",
        "created_at": 1700000001,
        "status": "completed",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-x",
        "output": [
            {
                "type": "message",
                "id": "msg_abc_0",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello.", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "store": True,
        "temperature": 1,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": 1,
        "truncation": "disabled",
        "usage": {
            "input_tokens": 11,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 7,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 18,
        },
        "user": None,
        "metadata": {},
    }
    assert Response.model_validate(response).output_text == "Hello."


def test_tool_call_response_object() -> None:
    """Tool calls become function_call items after the message, ids derived from the response."""
    chat = completion("Checking.", [call("c1", "w", '{"c":"A"}')], "tool_calls")
    response = respond(chat)
    assert response["output"][1] == {
        "type": "function_call",
        "id": "fc_abc_1",
        "call_id": "c1",
        "name": "w",
        "arguments": '{"c":"A"}',
        "status": "completed",
    }
    parsed = Response.model_validate(response)
    assert [item.type for item in parsed.output] == ["message", "function_call"]


@pytest.mark.parametrize("finish_reason", ["tool_calls", "stop"])
def test_tool_calls_complete_the_response_whatever_the_finish(finish_reason: str) -> None:
    """A reply with tool calls is a completed response with completed function_call items,
    as OpenAI's Responses API gives them, also when the upstream finished with ``stop``."""
    response = respond(completion(None, [call("c1", "w", '{"c":"A"}')], finish_reason))
    assert response["status"] == "completed" and response["incomplete_details"] is None
    assert [(i["type"], i["status"]) for i in response["output"]] == [
        ("function_call", "completed")
    ]
    Response.model_validate(response)


def test_request_settings_are_echoed() -> None:
    """The response echoes instructions, limits, sampling, tools and metadata of the request."""
    tool = {"type": "function", "name": "w", "parameters": {"type": "object"}, "strict": False}
    text = {"format": {"type": "json_object"}}
    response = respond(
        completion(),
        instructions="Be brief.",
        max_output_tokens=50,
        temperature=0.2,
        top_p=0.5,
        parallel_tool_calls=False,
        store=False,
        previous_response_id="resp_old",
        metadata={"k": "v"},
        tools=[tool],
        tool_choice="required",
        text=text,
        user="u",
    )
    echoed = {k: response[k] for k in ("instructions", "max_output_tokens", "temperature", "top_p")}
    assert echoed == {
        "instructions": "Be brief.",
        "max_output_tokens": 50,
        "temperature": 0.2,
        "top_p": 0.5,
    }
    assert response["parallel_tool_calls"] is False
    assert response["store"] is False
    assert response["previous_response_id"] == "resp_old"
    assert response["metadata"] == {"k": "v"}
    assert response["tools"] == [{**tool, "description": None}]
    assert response["tool_choice"] == "required"
    assert response["text"] == text
    assert response["user"] == "u"
    Response.model_validate(response)


@pytest.mark.parametrize(
    ("finish_reason", "reason"),
    [("length", "max_output_tokens"), ("content_filter", "content_filter")],
)
def test_cut_short_response_is_incomplete(finish_reason: str, reason: str) -> None:
    """length or content_filter: status incomplete, the reason, and an incomplete last item."""
    response = respond(completion("Hel", finish_reason=finish_reason))
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": reason}
    assert response["output"][0]["status"] == "incomplete"
    Response.model_validate(response)


def test_usage_details_carry_over() -> None:
    """Cached prompt tokens and reasoning tokens reach the usage details."""
    chat = completion()
    chat["usage"] |= {
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    usage = respond(chat)["usage"]
    assert usage["input_tokens_details"]["cached_tokens"] == 4
    assert usage["output_tokens_details"]["reasoning_tokens"] == 2


def test_empty_reply_has_empty_output() -> None:
    """A completion with no text and no calls gives an empty output list."""
    response = respond(completion(None))
    assert response["output"] == []
    assert output_to_chat(response) == []
    Response.model_validate(response)


@pytest.mark.parametrize(
    "chat",
    [
        completion("Hello."),
        completion(None, [call("c1", "w", "{}"), call("c2", "x", '{"a":1}')], "tool_calls"),
        completion("Checking.", [call("c1", "w", "{}")], "tool_calls"),
    ],
)
def test_output_round_trips_to_the_chat_message(chat: dict[str, Any]) -> None:
    """output_to_chat gives back the assistant message the response was built from."""
    assert output_to_chat(respond(chat)) == [chat["choices"][0]["message"]]


def test_output_items_as_next_input_give_the_same_message() -> None:
    """A client echoing the output items as input yields the same chat message."""
    chat = completion("Checking.", [call("c1", "w", "{}")], "tool_calls")
    output = respond(chat)["output"]
    _, conversation = responses_to_chat({"model": "m", "input": output}, [])
    assert conversation == [chat["choices"][0]["message"]]
