"""Pre-dispatch checks: a chat-dialect request against the capabilities and limits of its model."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from nanogate.core._tokens import count_chat_tokens
from nanogate.errors import (
    ContextLengthExceeded,
    GatewayError,
    ImageInputNotSupported,
    InvalidJSONSchema,
    InvalidParameterValue,
    ToolChoiceUnsupported,
    UnsupportedInputModality,
)
from nanogate.routing import Model
from nanogate.server._checks import (
    check_chat,
    check_context,
    check_inputs,
    check_json_schema,
    check_response_format,
    check_tools,
    output_limit,
)

ALL = ("tools", "vision", "json_schema", "audio", "file", "video")
USER = [{"role": "user", "content": "What is the weather like in Paris today?"}]


def model(*capabilities: str, context_window: int = 8192, max_output_tokens: int = 1024) -> Model:
    return Model(
        id="acme/test",
        type="chat",
        provider="upstream",
        upstream_model="test-v1",
        name="Test",
        description="",
        owned_by="acme",
        input_usd_per_mtok=Decimal("1"),
        output_usd_per_mtok=Decimal("2"),
        context_window=context_window,
        max_output_tokens=max_output_tokens,
        dimensions=256,
        capabilities=frozenset(capabilities),
        fallbacks=(),
    )


def body(**fields: Any) -> dict[str, Any]:
    return {"model": "acme/test", "messages": USER, **fields}


def with_part(part: dict[str, Any]) -> dict[str, Any]:
    return body(messages=[{"role": "user", "content": [{"type": "text", "text": "see"}, part]}])


def tool(name: str = "get_weather", parameters: Any = None) -> dict[str, Any]:
    function: dict[str, Any] = {"name": name}
    if parameters is not None:
        function["parameters"] = parameters
    return {"type": "function", "function": function}


WEATHER = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

IMAGE = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
AUDIO = {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}
FILE = {"type": "file", "file": {"file_id": "file_1"}}
VIDEO = {"type": "video_url", "video_url": {"url": "https://example.com/cat.mp4"}}


# Inputs ------------------------------------------------------------------------------


def test_image_to_a_model_without_vision() -> None:
    """An image part to a model without vision is image_input_not_supported on messages."""
    with pytest.raises(ImageInputNotSupported) as info:
        check_inputs(with_part(IMAGE), model("tools"))
    assert info.value.param == "messages"
    assert "acme/test" in info.value.message


def test_image_to_a_vision_model() -> None:
    """An image part to a vision model passes."""
    check_inputs(with_part(IMAGE), model("vision"))


@pytest.mark.parametrize(
    ("part", "capability", "noun"),
    [(AUDIO, "audio", "audio"), (FILE, "file", "file"), (VIDEO, "video", "video")],
    ids=["audio", "file", "video"],
)
def test_other_modalities(part: dict[str, Any], capability: str, noun: str) -> None:
    """Audio, file and video parts need their capability, else unsupported_input_modality."""
    with pytest.raises(UnsupportedInputModality) as info:
        check_inputs(with_part(part), model("vision", "tools"))
    assert info.value.param == "messages"
    assert f"{noun} input" in info.value.message
    check_inputs(with_part(part), model(capability))


def test_text_only_passes_any_model() -> None:
    """Plain text, as a string or as text parts, goes to a model with no capabilities."""
    check_inputs(body(), model())
    check_inputs(with_part({"type": "text", "text": "more"}), model())


def test_parts_in_any_message_are_checked() -> None:
    """An image in an earlier message is found too."""
    messages = [
        {"role": "user", "content": [IMAGE]},
        {"role": "assistant", "content": "A cat."},
        {"role": "user", "content": "And now?"},
    ]
    with pytest.raises(ImageInputNotSupported):
        check_inputs(body(messages=messages), model())


# Tools -------------------------------------------------------------------------------


def test_tools_to_a_model_without_tools() -> None:
    """Tools sent to a model without tool capability are tool_choice_unsupported."""
    with pytest.raises(ToolChoiceUnsupported) as info:
        check_tools(body(tools=[tool()]), model())
    assert info.value.param == "tool_choice"


@pytest.mark.parametrize("choice", ["auto", "required"])
def test_tool_choice_to_a_model_without_tools(choice: str) -> None:
    """A tool_choice alone, to a model without tools, is tool_choice_unsupported."""
    with pytest.raises(ToolChoiceUnsupported):
        check_tools(body(tool_choice=choice), model())


def test_tool_choice_none_without_tools_passes() -> None:
    """tool_choice "none" asks for no tools, so any model takes it."""
    check_tools(body(tool_choice="none"), model())


@pytest.mark.parametrize("choice", ["auto", "required"])
def test_tool_choice_without_tools(choice: str) -> None:
    """tool_choice without tools is an invalid tool_choice."""
    with pytest.raises(InvalidParameterValue) as info:
        check_tools(body(tool_choice=choice), model("tools"))
    assert info.value.param == "tool_choice"


def test_tool_choice_naming_an_absent_function() -> None:
    """tool_choice must name one of the tools."""
    choice = {"type": "function", "function": {"name": "get_time"}}
    with pytest.raises(InvalidParameterValue) as info:
        check_tools(body(tools=[tool()], tool_choice=choice), model("tools"))
    assert info.value.param == "tool_choice"
    assert "get_time" in info.value.message


def test_tool_choice_naming_a_present_function() -> None:
    """tool_choice naming one of the tools passes."""
    choice = {"type": "function", "function": {"name": "get_weather"}}
    check_tools(body(tools=[tool(parameters=WEATHER)], tool_choice=choice), model("tools"))


def test_invalid_tool_parameters_schema() -> None:
    """A tool whose parameters are not a JSON Schema is invalid_json_schema at its path."""
    tools = [tool("ok", WEATHER), tool("bad", {"type": "objekt"})]
    with pytest.raises(InvalidJSONSchema) as info:
        check_tools(body(tools=tools), model("tools"))
    assert info.value.param == "tools[1].function.parameters"
    assert "tools[1].function.parameters" in info.value.message


# Structured output -------------------------------------------------------------------


def json_schema_format(schema: Any) -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": "answer", "schema": schema}}


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "objekt"},
        {"type": "object", "properties": {"a": {"type": 5}}},
        {"required": "a"},
        {"minimum": "x"},
        5,
        [],
        "object",
    ],
    ids=[
        "bad-type",
        "nested-bad-type",
        "required-string",
        "minimum-string",
        "number",
        "array",
        "string",
    ],
)
def test_invalid_response_format_schema(schema: Any) -> None:
    """A response_format schema that is not a JSON Schema is invalid_json_schema."""
    with pytest.raises(InvalidJSONSchema) as info:
        check_response_format(
            body(response_format=json_schema_format(schema)), model("json_schema")
        )
    assert info.value.param == "response_format"
    assert info.value.code == "invalid_json_schema"


@pytest.mark.parametrize("schema", [WEATHER, {}, True], ids=["object", "empty", "true"])
def test_valid_response_format_schema(schema: Any) -> None:
    """Valid JSON Schemas (objects or booleans) pass."""
    check_response_format(body(response_format=json_schema_format(schema)), model("json_schema"))


def test_json_schema_without_schema() -> None:
    """json_schema output without a schema is invalid_json_schema."""
    response_format = {"type": "json_schema", "json_schema": {"name": "answer"}}
    with pytest.raises(InvalidJSONSchema) as info:
        check_response_format(body(response_format=response_format), model("json_schema"))
    assert info.value.param == "response_format"


def test_json_schema_to_a_model_without_it() -> None:
    """json_schema output to a model without the capability is an invalid response_format."""
    with pytest.raises(InvalidParameterValue) as info:
        check_response_format(body(response_format=json_schema_format(WEATHER)), model("tools"))
    assert info.value.param == "response_format"


@pytest.mark.parametrize("kind", ["text", "json_object"])
def test_other_response_formats_need_nothing(kind: str) -> None:
    """text and json_object formats pass on any model."""
    check_response_format(body(response_format={"type": kind}), model())


def test_check_json_schema_directly() -> None:
    """check_json_schema reports the parameter it is given, and caches nothing wrong."""
    check_json_schema(WEATHER, "x")
    with pytest.raises(InvalidJSONSchema) as info:
        check_json_schema({"type": "objekt"}, "tools[0].function.parameters")
    assert info.value.param == "tools[0].function.parameters"
    with pytest.raises(InvalidJSONSchema) as again:
        check_json_schema({"type": "objekt"}, "response_format")
    assert again.value.param == "response_format"


# Output limit ------------------------------------------------------------------------


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_output_limit_above_the_models_maximum(param: str) -> None:
    """A limit above the model's max_output_tokens is invalid on that parameter."""
    with pytest.raises(InvalidParameterValue) as info:
        output_limit(body(**{param: 1025}), model(max_output_tokens=1024))
    assert info.value.param == param
    assert "1024" in info.value.message


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_output_limit_at_the_models_maximum(param: str) -> None:
    """A limit equal to the model's maximum is accepted and returned."""
    assert output_limit(body(**{param: 1024}), model(max_output_tokens=1024)) == 1024


def test_output_limit_absent() -> None:
    """No limit in the request is None."""
    assert output_limit(body(), model()) is None


def test_max_completion_tokens_wins() -> None:
    """max_completion_tokens, the newer name, is the limit when both are given."""
    assert output_limit(body(max_tokens=10, max_completion_tokens=20), model()) == 20


# Context window ----------------------------------------------------------------------


def test_context_fits_exactly() -> None:
    """Prompt estimate plus max_tokens equal to the window fits, and returns the estimate."""
    prompt = count_chat_tokens(USER)
    window = prompt + 100
    assert check_context(body(), model(context_window=window), 100) == prompt


def test_context_one_token_over() -> None:
    """One token more than the window is context_length_exceeded on messages."""
    prompt = count_chat_tokens(USER)
    window = prompt + 100
    with pytest.raises(ContextLengthExceeded) as info:
        check_context(body(), model(context_window=window), 101)
    assert info.value.param == "messages"
    assert str(window) in info.value.message
    assert str(prompt + 101) in info.value.message


def test_context_counts_tools() -> None:
    """Tool definitions count against the window."""
    tools = [tool(parameters=WEATHER)]
    prompt = count_chat_tokens(USER, tools)
    assert prompt > count_chat_tokens(USER)
    assert check_context(body(tools=tools), model(context_window=prompt + 1), 1) == prompt
    with pytest.raises(ContextLengthExceeded):
        check_context(body(tools=tools), model(context_window=prompt), 1)


def test_context_without_a_limit() -> None:
    """Without max_tokens the prompt alone must leave room for at least one token."""
    prompt = count_chat_tokens(USER)
    assert check_context(body(), model(context_window=prompt + 1), None) == prompt
    with pytest.raises(ContextLengthExceeded):
        check_context(body(), model(context_window=prompt), None)


# Everything together -----------------------------------------------------------------


def test_check_chat_returns_the_prompt_estimate() -> None:
    """A request every check accepts returns its prompt estimate and output limit."""
    request = body(
        messages=[{"role": "user", "content": [{"type": "text", "text": "see"}, IMAGE]}],
        tools=[tool(parameters=WEATHER)],
        tool_choice="auto",
        response_format=json_schema_format(WEATHER),
        max_tokens=512,
    )
    expected = count_chat_tokens(request["messages"], request["tools"])
    assert check_chat(request, model(*ALL)) == (expected, 512)


@pytest.mark.parametrize(
    ("request_body", "capable", "error"),
    [
        (with_part(IMAGE), model(), ImageInputNotSupported),
        (body(tools=[tool()]), model(), ToolChoiceUnsupported),
        (
            body(response_format=json_schema_format({"type": "objekt"})),
            model("json_schema"),
            InvalidJSONSchema,
        ),
        (body(max_tokens=2000), model(max_output_tokens=1024), InvalidParameterValue),
        (body(max_tokens=1000), model(context_window=1000), ContextLengthExceeded),
    ],
    ids=["vision", "tools", "schema", "max-tokens", "context"],
)
def test_check_chat_runs_every_check(
    request_body: dict[str, Any], capable: Model, error: type[GatewayError]
) -> None:
    """check_chat raises what each individual check raises."""
    with pytest.raises(error):
        check_chat(request_body, capable)
