"""``POST /api/v1/messages`` (Anthropic Messages): what the gateway must understand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from nanogate.server.schemas._common import (
    OBJECT,
    STRING,
    JsonSchema,
    PositiveInteger,
    Schema,
    StopSequences,
    invalid,
    obj,
    part_type,
    require_object,
    require_text,
    typed,
    whole,
)

BLOCK_TYPES = frozenset(
    {
        "text",
        "image",
        "document",
        "tool_use",
        "tool_result",
        "thinking",
        "redacted_thinking",
    }
)


def _check_source(block: dict[str, Any], what: str) -> None:
    source = require_object(block.get("source"), f"the {what} 'source'")
    kind = source.get("type")
    if kind == "base64":
        if not isinstance(source.get("data"), str) or not isinstance(source.get("media_type"), str):
            raise invalid(f"a base64 {what} source needs string 'media_type' and 'data'")
    elif kind == "url":
        if not isinstance(source.get("url"), str):
            raise invalid(f"a url {what} source needs a string 'url'")
    elif kind == "text" and what == "document":
        if not isinstance(source.get("data"), str):
            raise invalid("a text document source needs a string 'data'")
    else:
        raise invalid(f"unsupported {what} source type {kind!r}")


def _check_blocks(value: Any, allowed: frozenset[str] = BLOCK_TYPES) -> Any:
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise invalid("expected a string or an array of content blocks")
    for block in value:
        kind = part_type(block, allowed, "content block")
        if kind == "text":
            require_text(block, "text", "a text block")
        elif kind in ("image", "document"):
            _check_source(block, kind)
        elif kind == "tool_use":
            require_text(block, "id", "a tool_use block")
            require_text(block, "name", "a tool_use block")
            require_object(block.get("input"), "the tool_use 'input'")
        elif kind == "tool_result":
            require_text(block, "tool_use_id", "a tool_result block")
            content = block.get("content")
            if content is not None:
                _check_blocks(content, frozenset({"text", "image", "document"}))
    return value


def _check_system(value: Any) -> Any:
    if value is None:
        return value
    return _check_blocks(value, frozenset({"text"}))


def _source_schema(what: str) -> JsonSchema:
    sources = [
        typed("base64", media_type=STRING, data=STRING),
        typed("url", url=STRING),
    ]
    if what == "document":
        sources.append(typed("text", data=STRING))
    return {"anyOf": sources}


_TEXT = typed("text", text=STRING)
_IMAGE = typed("image", source=_source_schema("image"))
_DOCUMENT = typed("document", source=_source_schema("document"))


def _blocks_schema(*blocks: JsonSchema) -> JsonSchema:
    return {"anyOf": [STRING, {"type": "array", "items": {"anyOf": list(blocks)}}]}


BLOCKS_SCHEMA = _blocks_schema(
    _TEXT,
    _IMAGE,
    _DOCUMENT,
    typed("tool_use", id=STRING, name=STRING, input=OBJECT),
    {
        **typed("tool_result", tool_use_id=STRING),
        "properties": {
            "type": {"const": "tool_result"},
            "tool_use_id": STRING,
            "content": {"anyOf": [_blocks_schema(_TEXT, _IMAGE, _DOCUMENT), {"type": "null"}]},
        },
    },
    obj({"type": {"enum": ["thinking", "redacted_thinking"]}}),
)
"""What :func:`_check_blocks` accepts."""

Blocks = Annotated[Any, AfterValidator(_check_blocks), WithJsonSchema(BLOCKS_SCHEMA)]
System = Annotated[
    Any,
    AfterValidator(_check_system),
    WithJsonSchema({"anyOf": [*_blocks_schema(_TEXT)["anyOf"], {"type": "null"}]}),
]


class MessageParam(Schema):
    role: Literal["user", "assistant"]
    content: Blocks


class ToolParam(Schema):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,128}$")
    description: str | None = None
    input_schema: dict[str, Any]


class ToolChoiceParam(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"type": {"enum": ["auto", "any", "none"]}}},
                {"required": ["name"], "properties": {"type": {"const": "tool"}, "name": STRING}},
            ]
        }
    )

    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None

    @model_validator(mode="after")
    def _names_its_tool(self) -> ToolChoiceParam:
        if self.type == "tool" and self.name is None:
            raise invalid("a tool choice of type 'tool' needs the 'name' of the tool")
        return self


class Metadata(Schema):
    user_id: str | None = None


class MessagesRequest(Schema):
    model: str
    max_tokens: PositiveInteger
    messages: list[MessageParam] = Field(min_length=1)
    system: System = None
    stop_sequences: StopSequences = None
    stream: bool | None = False
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: Annotated[int, Field(ge=0), BeforeValidator(whole)] | None = None
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoiceParam | None = None
    metadata: Metadata | None = None


class CountTokensRequest(Schema):
    model: str
    messages: list[MessageParam] = Field(min_length=1)
    system: System = None
    tools: list[ToolParam] | None = None
