"""``POST /api/v1/messages`` (Anthropic Messages): what the gateway must understand."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from nanogate.server.schemas._common import (
    Schema,
    StopSequences,
    invalid,
    part_type,
    require_object,
    require_text,
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


Blocks = Annotated[Any, AfterValidator(_check_blocks)]
System = Annotated[Any, AfterValidator(_check_system)]


class MessageParam(Schema):
    role: Literal["user", "assistant"]
    content: Blocks


class ToolParam(Schema):
    name: str = Field(pattern=r"^[a-zA-Z0-9_-]{1,128}$")
    description: str | None = None
    input_schema: dict[str, Any]


class ToolChoiceParam(Schema):
    type: Literal["auto", "any", "tool", "none"]
    name: str | None = None
    disable_parallel_tool_use: bool | None = None


class Metadata(Schema):
    user_id: str | None = None


class MessagesRequest(Schema):
    model: str
    max_tokens: int = Field(ge=1)
    messages: list[MessageParam] = Field(min_length=1)
    system: System = None
    stop_sequences: StopSequences = None
    stream: bool | None = False
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    top_k: int | None = Field(None, ge=0)
    tools: list[ToolParam] | None = None
    tool_choice: ToolChoiceParam | None = None
    metadata: Metadata | None = None


class CountTokensRequest(Schema):
    model: str
    messages: list[MessageParam] = Field(min_length=1)
    system: System = None
    tools: list[ToolParam] | None = None
