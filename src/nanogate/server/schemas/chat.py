"""``POST /api/v1/chat/completions``: what the gateway must understand of a request."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

from nanogate.server.schemas._common import (
    NULL,
    OBJECT,
    STRING,
    Integer,
    PositiveInteger,
    Schema,
    Stop,
    invalid,
    obj,
    part_type,
    require_object,
    require_text,
    typed,
    whole,
)

CHAT_PART_TYPES = frozenset({"text", "image_url", "input_audio", "file", "video_url", "refusal"})


def _check_content(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise invalid("expected a string or an array of content parts")
    for part in value:
        kind = part_type(part, CHAT_PART_TYPES, "content part")
        if kind == "text":
            require_text(part, "text", "a text part")
        elif kind == "refusal":
            require_text(part, "refusal", "a refusal part")
        elif kind in ("image_url", "video_url"):
            inner = require_object(part.get(kind), f"'{kind}'")
            if not isinstance(inner.get("url"), str):
                raise invalid(f"'{kind}.url' must be a string")
        elif kind == "input_audio":
            inner = require_object(part.get("input_audio"), "'input_audio'")
            if not isinstance(inner.get("data"), str):
                raise invalid("'input_audio.data' must be a base64 string")
        else:
            require_object(part.get("file"), "'file'")
    return value


def _check_tool_choice(value: Any) -> Any:
    if value is None or value in ("none", "auto", "required"):
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        function = value.get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            return value
    raise invalid(
        "expected 'none', 'auto', 'required' or "
        '{"type": "function", "function": {"name": "..."}}'
    )


CONTENT_PART = {
    "anyOf": [
        typed("text", text=STRING),
        typed("refusal", refusal=STRING),
        typed("image_url", image_url=obj({"url": STRING})),
        typed("video_url", video_url=obj({"url": STRING})),
        typed("input_audio", input_audio=obj({"data": STRING})),
        typed("file", file=OBJECT),
    ]
}
"""What :func:`_check_content` accepts of one part."""

Content = Annotated[
    Any,
    AfterValidator(_check_content),
    WithJsonSchema({"anyOf": [STRING, {"type": "array", "items": CONTENT_PART}, NULL]}),
]
ToolChoice = Annotated[
    Any,
    AfterValidator(_check_tool_choice),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": ["none", "auto", "required"]},
                typed("function", function=obj({"name": STRING})),
                NULL,
            ]
        }
    ),
]


class FunctionCall(Schema):
    name: str
    arguments: str


class ToolCall(Schema):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(Schema):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Content = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None


class FunctionDefinition(Schema):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class Tool(Schema):
    type: Literal["function"]
    function: FunctionDefinition


class JSONSchemaFormat(Schema):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class ResponseFormat(Schema):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JSONSchemaFormat | None = None


class StreamOptions(Schema):
    include_usage: bool | None = None


class ChatCompletionRequest(Schema):
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    max_tokens: PositiveInteger | None = None
    max_completion_tokens: PositiveInteger | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    n: Annotated[int, Field(ge=1, le=128), BeforeValidator(whole)] | None = None
    stop: Stop = None
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    seed: Integer | None = None
    logprobs: bool | None = None
    top_logprobs: Annotated[int, Field(ge=0, le=20), BeforeValidator(whole)] | None = None
    tools: list[Tool] | None = None
    tool_choice: ToolChoice = None
    parallel_tool_calls: bool | None = None
    response_format: ResponseFormat | None = None
    user: str | None = None
