"""``POST /api/v1/responses`` (OpenAI Responses): what the gateway must understand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema

from nanogate.server.schemas._common import (
    STRING,
    PositiveInteger,
    Schema,
    invalid,
    obj,
    part_type,
    require_object,
    require_text,
    typed,
)

INPUT_PART_TYPES = frozenset(
    {"input_text", "input_image", "input_file", "input_audio", "output_text", "refusal"}
)
ITEM_TYPES = frozenset({"message", "function_call", "function_call_output"})


def _check_parts(parts: Any) -> None:
    if isinstance(parts, str):
        return
    if not isinstance(parts, list):
        raise invalid("message content must be a string or an array of content parts")
    for part in parts:
        kind = part_type(part, INPUT_PART_TYPES, "content part")
        if kind in ("input_text", "output_text"):
            require_text(part, "text", f"an {kind} part")
        elif kind == "input_image":
            if not isinstance(part.get("image_url"), str) and not isinstance(
                part.get("file_id"), str
            ):
                raise invalid("an input_image part needs a string 'image_url' or 'file_id'")
        elif kind == "input_audio":
            audio = require_object(part.get("input_audio"), "'input_audio'")
            if not isinstance(audio.get("data"), str):
                raise invalid("'input_audio.data' must be a base64 string")
            if not isinstance(audio.get("format"), str):
                raise invalid("'input_audio.format' must be a string such as 'wav'")
        elif kind == "refusal":
            require_text(part, "refusal", "a refusal part")


def _check_input(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise invalid("expected a string or an array of input items")
    for item in value:
        if not isinstance(item, dict):
            raise invalid("each input item must be an object")
        kind = item.get("type", "message")
        if not isinstance(kind, str) or kind not in ITEM_TYPES:
            raise invalid(
                f"unsupported input item type {kind!r}; expected one of "
                f"{', '.join(sorted(ITEM_TYPES))}"
            )
        if kind == "message":
            if item.get("role") not in ("user", "assistant", "system", "developer"):
                raise invalid("a message item needs a role: user, assistant, system or developer")
            _check_parts(item.get("content"))
        elif kind == "function_call":
            for field in ("call_id", "name", "arguments"):
                require_text(item, field, "a function_call item")
        else:
            require_text(item, "call_id", "a function_call_output item")
            output = item.get("output")
            if not isinstance(output, str | list):
                raise invalid("a function_call_output item needs an 'output'")
            if isinstance(output, list) and not all(isinstance(p, dict) for p in output):
                raise invalid("a function_call_output item's 'output' parts must be objects")
    return value


def _check_tool_choice(value: Any) -> Any:
    if value is None or value in ("none", "auto", "required"):
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        if isinstance(value.get("name"), str):
            return value
    raise invalid(
        'expected \'none\', \'auto\', \'required\' or {"type": "function", "name": "..."}'
    )


_PART = {
    "anyOf": [
        typed("input_text", text=STRING),
        typed("output_text", text=STRING),
        {
            **typed("input_image"),
            "anyOf": [obj({"image_url": STRING}), obj({"file_id": STRING})],
        },
        typed("input_audio", input_audio=obj({"data": STRING, "format": STRING})),
        typed("refusal", refusal=STRING),
        typed("input_file"),
    ]
}
_ITEM = {
    "anyOf": [
        obj(
            {
                "role": {"enum": ["user", "assistant", "system", "developer"]},
                "content": {"anyOf": [STRING, {"type": "array", "items": _PART}]},
            },
            type={"const": "message"},
        ),
        typed("function_call", call_id=STRING, name=STRING, arguments=STRING),
        typed(
            "function_call_output",
            call_id=STRING,
            output={"anyOf": [STRING, {"type": "array", "items": {"type": "object"}}]},
        ),
    ]
}
"""What :func:`_check_input` accepts of one item (``type`` defaults to ``message``)."""

Input = Annotated[
    Any,
    AfterValidator(_check_input),
    WithJsonSchema({"anyOf": [STRING, {"type": "array", "items": _ITEM}]}),
]
ToolChoice = Annotated[
    Any,
    AfterValidator(_check_tool_choice),
    WithJsonSchema(
        {
            "anyOf": [
                {"enum": ["none", "auto", "required"]},
                typed("function", name=STRING),
                {"type": "null"},
            ]
        }
    ),
]


class FunctionTool(Schema):
    type: Literal["function"]
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    description: str | None = None
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class TextFormat(Schema):
    type: Literal["text", "json_object", "json_schema"]
    name: str | None = Field(None, pattern=r"^[a-zA-Z0-9_-]{1,64}$")
    schema_: dict[str, Any] | None = Field(None, alias="schema")
    strict: bool | None = None


class TextConfig(Schema):
    format: TextFormat | None = None


def _input_required(schema: dict[str, Any]) -> None:
    schema["required"] = [*schema.get("required", []), "input"]


class ResponsesRequest(Schema):
    """``input`` may be left out here; the route answers ``missing_required_parameter``
    for it (after the other fields are checked), and the document says it is required."""

    model_config = ConfigDict(json_schema_extra=_input_required)

    model: str
    input: Input = None
    instructions: str | None = None
    previous_response_id: str | None = None
    max_output_tokens: PositiveInteger | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    tools: list[FunctionTool] | None = None
    tool_choice: ToolChoice = None
    parallel_tool_calls: bool | None = None
    text: TextConfig | None = None
    stream: bool | None = False
    store: bool | None = True
    metadata: dict[str, str] | None = None
    user: str | None = None
