"""Request validation: strict schemas, and pydantic's errors as the catalogue's 400s."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import BaseModel

from nanogate.core import Surface
from nanogate.errors import GatewayError, InvalidParameterValue, MissingRequiredParameter
from nanogate.server._validation import json_kind, param_path, validate
from nanogate.server.schemas import (
    ChatCompletionRequest,
    EmbeddingsRequest,
    MessagesRequest,
    ResponsesRequest,
    TalkToGPTRequest,
)

USER = [{"role": "user", "content": "hi"}]


def chat(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "messages": USER, **fields}


def messages(**fields: Any) -> dict[str, Any]:
    return {"model": "m", "max_tokens": 16, "messages": USER, **fields}


def chat_content(*parts: Any) -> dict[str, Any]:
    return chat(messages=[{"role": "user", "content": list(parts)}])


def error_of(
    schema: type[BaseModel], data: dict[str, Any], surface: Surface = "openai"
) -> GatewayError:
    with pytest.raises(GatewayError) as info:
        validate(schema, data, surface)
    return info.value


def invalid(
    schema: type[BaseModel], data: dict[str, Any], param: str, surface: Surface = "openai"
) -> str:
    """Assert ``data`` is an invalid_parameter_value on ``param``; return the message."""
    err = error_of(schema, data, surface)
    assert type(err) is InvalidParameterValue, err
    assert err.param == param
    assert f"'{param}'" in err.message
    return err.message


# Missing fields ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "data", "param", "surface"),
    [
        (ChatCompletionRequest, {"messages": USER}, "model", "openai"),
        (ChatCompletionRequest, {"model": "m"}, "messages", "openai"),
        (ResponsesRequest, {"input": "hi"}, "model", "openai"),
        (EmbeddingsRequest, {"input": "hi"}, "model", "openai"),
        (EmbeddingsRequest, {"model": "m"}, "input", "openai"),
        (TalkToGPTRequest, {"prompt": "hi"}, "model", "legacy"),
        (
            ChatCompletionRequest,
            {"model": "m", "messages": [{"content": "x"}]},
            "messages[0].role",
            "openai",
        ),
    ],
    ids=[
        "chat-model",
        "chat-messages",
        "responses-model",
        "embeddings-model",
        "embeddings-input",
        "talk-to-gpt-model",
        "chat-nested-role",
    ],
)
def test_missing_field_openai_style(
    schema: type[BaseModel], data: dict[str, Any], param: str, surface: Surface
) -> None:
    """A missing field is missing_required_parameter, worded as OpenAI words it."""
    err = error_of(schema, data, surface)
    assert type(err) is MissingRequiredParameter
    assert err.param == param
    assert err.message == f"Missing required parameter: '{param}'."


def test_missing_model_message_is_exact() -> None:
    """The OpenAI surface says exactly: Missing required parameter: 'model'."""
    err = error_of(ChatCompletionRequest, {"messages": USER})
    assert err.message == "Missing required parameter: 'model'."
    assert err.code == "missing_required_parameter"


@pytest.mark.parametrize(
    ("data", "param"),
    [
        ({"model": "m", "messages": USER}, "max_tokens"),
        ({"max_tokens": 16, "messages": USER}, "model"),
        ({"model": "m", "max_tokens": 16}, "messages"),
        (messages(messages=[{"role": "user"}]), "messages[0].content"),
        (messages(tools=[{"name": "f"}]), "tools[0].input_schema"),
    ],
    ids=["max_tokens", "model", "messages", "nested-content", "tool-input-schema"],
)
def test_missing_field_anthropic_style(data: dict[str, Any], param: str) -> None:
    """On the Anthropic surface a missing field reads '<param> is required', as the seed shows."""
    err = error_of(MessagesRequest, data, "anthropic")
    assert type(err) is MissingRequiredParameter
    assert err.param == param
    assert err.message == f"{param} is required"


def test_missing_max_tokens_is_the_seed_example() -> None:
    """Messages without max_tokens give the seed's 'max_tokens is required', param max_tokens."""
    err = error_of(MessagesRequest, {"model": "m", "messages": USER}, "anthropic")
    assert (err.message, err.param) == ("max_tokens is required", "max_tokens")


# Types: strict, no coercion ----------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "data", "param", "expected", "got"),
    [
        (ChatCompletionRequest, chat(temperature="hot"), "temperature", "a number", "a string"),
        (ChatCompletionRequest, chat(temperature=True), "temperature", "a number", "a boolean"),
        (ChatCompletionRequest, chat(max_tokens="5"), "max_tokens", "an integer", "a string"),
        (ChatCompletionRequest, chat(max_tokens=True), "max_tokens", "an integer", "a boolean"),
        (ChatCompletionRequest, chat(max_tokens=5.5), "max_tokens", "an integer", "a number"),
        (ChatCompletionRequest, chat(stream="yes"), "stream", "a boolean", "a string"),
        (ChatCompletionRequest, chat(stream=1), "stream", "a boolean", "an integer"),
        (ChatCompletionRequest, chat(model=5), "model", "a string", "an integer"),
        (ChatCompletionRequest, chat(model=None), "model", "a string", "null"),
        (ChatCompletionRequest, chat(messages="hi"), "messages", "an array", "a string"),
        (ChatCompletionRequest, chat(messages=["hi"]), "messages[0]", "an object", "a string"),
        (MessagesRequest, messages(max_tokens="5"), "max_tokens", "an integer", "a string"),
        (MessagesRequest, messages(max_tokens=False), "max_tokens", "an integer", "a boolean"),
        (
            ResponsesRequest,
            {"model": "m", "max_output_tokens": "5"},
            "max_output_tokens",
            "an integer",
            "a string",
        ),
        (
            ResponsesRequest,
            {"model": "m", "metadata": {"a": 1}},
            "metadata.a",
            "a string",
            "an integer",
        ),
        (
            EmbeddingsRequest,
            {"model": "m", "input": "x", "dimensions": "8"},
            "dimensions",
            "an integer",
            "a string",
        ),
        (TalkToGPTRequest, {"model": "m", "prompt": 5}, "prompt", "a string", "an integer"),
    ],
)
def test_wrong_types_are_not_coerced(
    schema: type[BaseModel], data: dict[str, Any], param: str, expected: str, got: str
) -> None:
    """A value of the wrong JSON type is refused, naming what was expected and what came."""
    surface: Surface = "anthropic" if schema is MessagesRequest else "openai"
    message = invalid(schema, data, param, surface)
    assert message == f"Invalid type for '{param}': expected {expected}, but got {got} instead."


def test_whole_numbers_are_integers() -> None:
    """A number without a fractional part is an integer, as JSON Schema (and so the
    OpenAPI document) has it: max_tokens 5.0 is 5, token arrays may hold 7.0."""
    request = validate(ChatCompletionRequest, chat(max_tokens=5.0, n=2.0), "openai")
    assert (request.max_tokens, request.n) == (5, 2)
    assert type(request.max_tokens) is int
    embeddings = validate(EmbeddingsRequest, {"model": "m", "input": [[7.0, 8]]}, "openai")
    assert embeddings.inputs() == [[7, 8]]


def test_integers_are_accepted_as_numbers() -> None:
    """An integer is a valid number (temperature: 1)."""
    request = validate(ChatCompletionRequest, chat(temperature=1), "openai")
    assert request.temperature == 1


# Ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "data", "param", "fragment"),
    [
        (ChatCompletionRequest, chat(max_tokens=-1), "max_tokens", ">= 1, but got -1"),
        (ChatCompletionRequest, chat(max_tokens=0), "max_tokens", ">= 1, but got 0"),
        (ChatCompletionRequest, chat(max_completion_tokens=0), "max_completion_tokens", ">= 1"),
        (ChatCompletionRequest, chat(temperature=5), "temperature", "<= 2"),
        (ChatCompletionRequest, chat(temperature=-0.1), "temperature", ">= 0"),
        (ChatCompletionRequest, chat(top_p=1.5), "top_p", "<= 1"),
        (ChatCompletionRequest, chat(n=0), "n", ">= 1"),
        (ChatCompletionRequest, chat(presence_penalty=3), "presence_penalty", "<= 2"),
        (ChatCompletionRequest, chat(top_logprobs=21), "top_logprobs", "<= 20"),
        (ChatCompletionRequest, chat(messages=[]), "messages", "at least 1 item"),
        (MessagesRequest, messages(max_tokens=0), "max_tokens", ">= 1"),
        (MessagesRequest, messages(temperature=1.5), "temperature", "<= 1"),
        (MessagesRequest, messages(messages=[]), "messages", "at least 1 item"),
        (ResponsesRequest, {"model": "m", "max_output_tokens": 0}, "max_output_tokens", ">= 1"),
        (EmbeddingsRequest, {"model": "m", "input": "x", "dimensions": 0}, "dimensions", ">= 1"),
        (TalkToGPTRequest, {"model": "m", "prompt": "x", "max_tokens": -1}, "max_tokens", ">= 1"),
    ],
)
def test_out_of_range(
    schema: type[BaseModel], data: dict[str, Any], param: str, fragment: str
) -> None:
    """A value outside its range is invalid_parameter_value naming the bound."""
    surface: Surface = "anthropic" if schema is MessagesRequest else "openai"
    assert fragment in invalid(schema, data, param, surface)


def test_range_message_is_exact() -> None:
    """The range message says the bound and the value received."""
    assert invalid(ChatCompletionRequest, chat(max_tokens=-1), "max_tokens") == (
        "Invalid value for 'max_tokens': expected a value >= 1, but got -1 instead."
    )


# Literals and nested paths -----------------------------------------------------------


def test_chat_role_is_a_literal() -> None:
    """An unknown chat role lists the allowed roles, at messages[i].role."""
    data = chat(messages=[*USER, {"role": "robot", "content": "x"}])
    message = invalid(ChatCompletionRequest, data, "messages[1].role")
    assert "'robot'" in message
    for role in ("system", "developer", "user", "assistant", "tool"):
        assert f"'{role}'" in message


def test_a_key_shaped_value_is_not_repeated() -> None:
    """A rejected value that holds a key (sent in the wrong field) is masked in the
    message, which the answer and the request log repeat."""
    key = "sk-nano-3f0c1a2b-1111-4222-8333-444455556666"
    message = invalid(
        ChatCompletionRequest, chat(messages=[{"role": key, "content": "x"}]), "messages[0].role"
    )
    assert "got '[redacted]' instead" in message and key[:12] not in message


def test_messages_role_is_user_or_assistant() -> None:
    """The Messages API has no system role inside messages."""
    data = messages(messages=[{"role": "system", "content": "x"}])
    message = invalid(MessagesRequest, data, "messages[0].role", "anthropic")
    assert "expected 'user' or 'assistant'" in message


def test_literal_fields() -> None:
    """Enumerated fields refuse values outside their set."""
    invalid(ChatCompletionRequest, chat(response_format={"type": "xml"}), "response_format.type")
    invalid(
        EmbeddingsRequest, {"model": "m", "input": "x", "encoding_format": "hex"}, "encoding_format"
    )
    invalid(
        MessagesRequest, messages(tool_choice={"type": "maybe"}), "tool_choice.type", "anthropic"
    )


def test_deeply_nested_path() -> None:
    """Errors deep in the body name the full path, with indexes in brackets."""
    data = chat(
        messages=[{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}]
    )
    err = error_of(ChatCompletionRequest, data)
    assert type(err) is MissingRequiredParameter
    assert err.param == "messages[0].tool_calls[0].function.arguments"


def test_alias_appears_in_the_path() -> None:
    """A field known by its JSON name (schema) is reported by that name."""
    data = chat(
        response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": "no"}}
    )
    invalid(ChatCompletionRequest, data, "response_format.json_schema.schema")


def test_name_patterns() -> None:
    """Function and format names must match the OpenAI name pattern."""
    tools = [{"type": "function", "function": {"name": "bad name"}}]
    assert "pattern" in invalid(ChatCompletionRequest, chat(tools=tools), "tools[0].function.name")
    data = {"model": "m", "text": {"format": {"type": "json_schema", "name": "bad name"}}}
    invalid(ResponsesRequest, data, "text.format.name")


# Content parts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "fragment"),
    [
        ([{"type": "audio"}], "unsupported content part type 'audio'"),
        ([{"type": "image_url", "image_url": {}}], "'image_url.url' must be a string"),
        ([{"type": "image_url", "image_url": {"url": 5}}], "'image_url.url' must be a string"),
        ([{"type": "image_url"}], "expected 'image_url' to be an object"),
        ([{"type": "video_url", "video_url": {}}], "'video_url.url' must be a string"),
        ([{"type": "text"}], "a text part needs a string 'text'"),
        ([{"type": "refusal"}], "a refusal part needs a string 'refusal'"),
        ([{"type": "input_audio", "input_audio": {}}], "'input_audio.data' must be a base64"),
        ([{"type": "file"}], "expected 'file' to be an object"),
        (["hi"], "each content part must be an object"),
        ([{"text": "x"}], "each content part needs a string 'type'"),
    ],
    ids=[
        "unknown-type",
        "image-no-url",
        "image-url-not-string",
        "image-no-object",
        "video-no-url",
        "text-no-text",
        "refusal-no-text",
        "audio-no-data",
        "file-no-object",
        "not-an-object",
        "no-type",
    ],
)
def test_chat_content_parts(parts: list[Any], fragment: str) -> None:
    """A malformed content part is invalid at messages[i].content, saying what is wrong."""
    assert fragment in invalid(ChatCompletionRequest, chat_content(*parts), "messages[0].content")


def test_chat_content_of_wrong_type() -> None:
    """Content is a string, an array of parts, or null."""
    data = chat(messages=[{"role": "user", "content": 5}])
    assert "a string or an array of content parts" in invalid(
        ChatCompletionRequest, data, "messages[0].content"
    )


def test_valid_chat_content_parts() -> None:
    """Every chat part type, well formed, passes validation."""
    data = chat_content(
        {"type": "text", "text": "look"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "f1"}},
        {"type": "video_url", "video_url": {"url": "https://x/v.mp4"}},
    )
    assert validate(ChatCompletionRequest, data, "openai").messages[0].role == "user"


@pytest.mark.parametrize(
    ("data", "param", "fragment"),
    [
        (
            messages(
                messages=[
                    {"role": "user", "content": [{"type": "image", "source": {"type": "url"}}]}
                ]
            ),
            "messages[0].content",
            "a url image source needs a string 'url'",
        ),
        (
            messages(messages=[{"role": "user", "content": [{"type": "video"}]}]),
            "messages[0].content",
            "unsupported content block type 'video'",
        ),
        (
            messages(
                messages=[
                    {
                        "role": "assistant",
                        "content": [{"type": "tool_use", "id": "t", "name": "f", "input": []}],
                    }
                ]
            ),
            "messages[0].content",
            "expected the tool_use 'input' to be an object",
        ),
        (messages(system=[{"type": "image"}]), "system", "unsupported content block type 'image'"),
        (messages(system=5), "system", "a string or an array of content blocks"),
    ],
    ids=["image-source", "unknown-block", "tool-use-input", "system-image", "system-number"],
)
def test_messages_content_blocks(data: dict[str, Any], param: str, fragment: str) -> None:
    """Malformed Anthropic content blocks are invalid where they occur."""
    assert fragment in invalid(MessagesRequest, data, param, "anthropic")


# stop and tool_choice ----------------------------------------------------------------


@pytest.mark.parametrize("stop", [None, "END", ["a", "b", "c", "d"]])
def test_valid_stop(stop: Any) -> None:
    """stop is a string, up to four strings, or null."""
    assert validate(ChatCompletionRequest, chat(stop=stop), "openai").stop == stop


@pytest.mark.parametrize(
    ("stop", "fragment"),
    [
        (5, "a string or an array of strings"),
        (["a", 1], "a string or an array of strings"),
        (["a", "b", "c", "d", "e"], "at most 4 strings"),
    ],
)
def test_invalid_stop(stop: Any, fragment: str) -> None:
    """Anything else in stop is invalid."""
    assert fragment in invalid(ChatCompletionRequest, chat(stop=stop), "stop")


def test_stop_sequences_on_messages() -> None:
    """Anthropic stop_sequences take a string list; a number is invalid."""
    assert validate(
        MessagesRequest, messages(stop_sequences=["x"]), "anthropic"
    ).stop_sequences == ["x"]
    invalid(MessagesRequest, messages(stop_sequences=5), "stop_sequences", "anthropic")


@pytest.mark.parametrize(
    "choice",
    ["none", "auto", "required", {"type": "function", "function": {"name": "f"}}],
)
def test_valid_chat_tool_choice(choice: Any) -> None:
    """Chat tool_choice is none, auto, required or a named function."""
    assert validate(ChatCompletionRequest, chat(tool_choice=choice), "openai").tool_choice == choice


@pytest.mark.parametrize(
    "choice",
    [
        "sometimes",
        {"type": "function"},
        {"type": "function", "function": {}},
        {"type": "function", "name": "f"},
        5,
    ],
)
def test_invalid_chat_tool_choice(choice: Any) -> None:
    """Other chat tool_choice shapes are invalid, with the allowed shapes in the message."""
    message = invalid(ChatCompletionRequest, chat(tool_choice=choice), "tool_choice")
    assert "'none', 'auto', 'required'" in message


def test_responses_tool_choice_is_flat() -> None:
    """Responses tool_choice names the function at the top level, not under function."""
    flat = {"type": "function", "name": "f"}
    assert validate(ResponsesRequest, {"model": "m", "tool_choice": flat}, "openai").tool_choice
    nested = {"type": "function", "function": {"name": "f"}}
    invalid(ResponsesRequest, {"model": "m", "tool_choice": nested}, "tool_choice")


# Embeddings input --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "inputs"),
    [
        ("hello", ["hello"]),
        (["a", "b"], ["a", "b"]),
        ([1, 2, 3], [[1, 2, 3]]),
        ([[1, 2], [3]], [[1, 2], [3]]),
    ],
    ids=["string", "strings", "token-array", "token-arrays"],
)
def test_valid_embeddings_input(value: Any, inputs: list[Any]) -> None:
    """Embeddings take a string, strings, a token array or token arrays."""
    request = validate(EmbeddingsRequest, {"model": "m", "input": value}, "openai")
    assert request.inputs() == inputs


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "input cannot be an empty string"),
        ([], "expected a string, an array of strings, or an array of token arrays"),
        (["a", ""], "input cannot contain empty strings"),
        (["a", 1], "expected a string, an array of strings, or an array of token arrays"),
        ([[1, 2], []], "expected a string, an array of strings, or an array of token arrays"),
        ([True], "expected a string, an array of strings, or an array of token arrays"),
        ([[1, True]], "expected a string, an array of strings, or an array of token arrays"),
        (5, "expected a string, an array of strings, or an array of token arrays"),
        (["a"] * 2049, "at most 2048 inputs"),
    ],
    ids=[
        "empty-string",
        "empty-list",
        "empty-item",
        "mixed",
        "empty-token-array",
        "boolean-token",
        "boolean-in-token-array",
        "number",
        "too-many",
    ],
)
def test_invalid_embeddings_input(value: Any, fragment: str) -> None:
    """Empty, mixed or oversized embeddings input is invalid at input."""
    assert fragment in invalid(EmbeddingsRequest, {"model": "m", "input": value}, "input")


# Responses input items ---------------------------------------------------------------


def test_valid_responses_input_items() -> None:
    """A conversation of message, function_call and function_call_output items is valid."""
    items = [
        {"role": "system", "content": "Be brief."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]},
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c", "output": "ok"},
        {"role": "user", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]},
    ]
    assert validate(ResponsesRequest, {"model": "m", "input": items}, "openai").input == items


def test_responses_input_is_optional() -> None:
    """A Responses request may omit input (previous_response_id can carry the context)."""
    assert validate(ResponsesRequest, {"model": "m"}, "openai").input is None


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (5, "expected a string or an array of input items"),
        (["hi"], "each input item must be an object"),
        ([{"type": "reasoning"}], "unsupported input item type 'reasoning'"),
        ([{"role": "robot", "content": "x"}], "a message item needs a role"),
        ([{"role": "user", "content": 5}], "message content must be a string or an array"),
        (
            [{"role": "user", "content": [{"type": "text", "text": "x"}]}],
            "unsupported content part type 'text'",
        ),
        (
            [{"role": "user", "content": [{"type": "input_image"}]}],
            "needs a string 'image_url' or 'file_id'",
        ),
        (
            [{"role": "user", "content": [{"type": "input_text"}]}],
            "an input_text part needs a string 'text'",
        ),
        ([{"type": "function_call", "call_id": "c", "name": "f"}], "needs a string 'arguments'"),
        ([{"type": "function_call_output", "call_id": "c"}], "needs an 'output'"),
        ([{"type": "function_call_output", "output": "x"}], "needs a string 'call_id'"),
    ],
    ids=[
        "number",
        "string-item",
        "unknown-item",
        "bad-role",
        "bad-content",
        "chat-part-type",
        "image-without-source",
        "text-without-text",
        "call-without-arguments",
        "output-without-output",
        "output-without-call-id",
    ],
)
def test_invalid_responses_input(value: Any, fragment: str) -> None:
    """Malformed Responses input items are invalid at input, saying what is wrong."""
    assert fragment in invalid(ResponsesRequest, {"model": "m", "input": value}, "input")


# TalkToGPT ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [{"model": "m", "prompt": "hi"}, {"model": "m", "messages": USER}],
    ids=["prompt", "messages"],
)
def test_talk_to_gpt_takes_a_prompt_or_messages(data: dict[str, Any]) -> None:
    """A legacy request with a prompt or messages is valid."""
    assert validate(TalkToGPTRequest, data, "legacy").model == "m"


@pytest.mark.parametrize(
    "data", [{"model": "m"}, {"model": "m", "prompt": ""}], ids=["nothing", "empty-prompt"]
)
def test_talk_to_gpt_schema_leaves_the_prompt_rule_to_the_route(data: dict[str, Any]) -> None:
    """The schema accepts a request with nothing to say; the route refuses it with
    missing_required_parameter on 'prompt' (tests/app/test_params.py)."""
    assert validate(TalkToGPTRequest, data, "legacy").model == "m"


# Pass-through ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "data", "surface"),
    [
        (ChatCompletionRequest, chat(provider={"only": ["a"]}, reasoning_effort="high"), "openai"),
        (
            ChatCompletionRequest,
            chat(
                messages=[{"role": "user", "content": "x", "cache_control": {"type": "ephemeral"}}]
            ),
            "openai",
        ),
        (
            MessagesRequest,
            messages(thinking={"type": "enabled", "budget_tokens": 1024}),
            "anthropic",
        ),
        (ResponsesRequest, {"model": "m", "input": "x", "reasoning": {"effort": "low"}}, "openai"),
        (EmbeddingsRequest, {"model": "m", "input": "x", "extra": [1, 2]}, "openai"),
        (TalkToGPTRequest, {"model": "m", "prompt": "x", "webSearch": True}, "legacy"),
    ],
    ids=["chat", "chat-message", "messages", "responses", "embeddings", "talk-to-gpt"],
)
def test_unknown_fields_pass_through(
    schema: type[BaseModel], data: dict[str, Any], surface: Surface
) -> None:
    """Fields a schema does not know are accepted, and the body is not changed."""
    original = copy.deepcopy(data)
    assert isinstance(validate(schema, data, surface), schema)
    assert data == original


# Helpers -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("model",), "model"),
        (("messages", 0, "content"), "messages[0].content"),
        (("tools", 2, "function", "parameters"), "tools[2].function.parameters"),
        (("input", 0, 1), "input[0][1]"),
        ((0, "x"), "[0].x"),
        ((), ""),
    ],
)
def test_param_path(loc: tuple[int | str, ...], path: str) -> None:
    """param_path writes a pydantic loc as a dotted path with bracketed indexes."""
    assert param_path(loc) == path


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, "null"),
        (True, "a boolean"),
        (False, "a boolean"),
        (0, "an integer"),
        (1.5, "a number"),
        ("", "a string"),
        ([], "an array"),
        ({}, "an object"),
        ((), "tuple"),
    ],
)
def test_json_kind(value: Any, kind: str) -> None:
    """json_kind names a value's JSON type, booleans before integers."""
    assert json_kind(value) == kind
