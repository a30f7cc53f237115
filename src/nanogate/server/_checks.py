"""Pre-dispatch checks of a chat-dialect request against the model it names.

Every surface translates its request to the chat dialect first, so these
checks (and their errors) are the same whichever API the client speaks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from nanogate.core import count_chat_tokens
from nanogate.errors import (
    ContextLengthExceeded,
    ImageInputNotSupported,
    InvalidJSONSchema,
    InvalidParameterValue,
    ToolChoiceUnsupported,
    UnsupportedInputModality,
)
from nanogate.routing import Model

_MODALITIES = {
    "input_audio": ("audio", "audio"),
    "file": ("file", "file"),
    "video_url": ("video", "video"),
}


def _parts(messages: list[dict[str, Any]]) -> Iterator[Mapping[str, Any]]:
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, Mapping):
                    yield part


def check_inputs(body: Mapping[str, Any], model: Model) -> None:
    """Images, audio, files and video only go to models that take them."""
    for part in _parts(body["messages"]):
        kind = part.get("type")
        if kind == "image_url" and not model.supports("vision"):
            raise ImageInputNotSupported(f"The model '{model.id}' does not accept image input.")
        if kind in _MODALITIES:
            capability, noun = _MODALITIES[kind]
            if not model.supports(capability):
                raise UnsupportedInputModality(
                    f"The model '{model.id}' does not accept {noun} input.", param="messages"
                )


def check_tools(body: Mapping[str, Any], model: Model) -> None:
    """Tools only go to models that call them, and ``tool_choice`` must name a tool."""
    tools = body.get("tools")
    choice = body.get("tool_choice")
    if (tools or choice not in (None, "none")) and not model.supports("tools"):
        raise ToolChoiceUnsupported(f"The model '{model.id}' does not support tools.")
    if choice is not None and not tools and choice != "none":
        raise InvalidParameterValue(
            "tool_choice is only allowed when tools are specified.", param="tool_choice"
        )
    if isinstance(choice, Mapping):
        name = choice["function"]["name"]
        if name not in {tool["function"]["name"] for tool in tools or ()}:
            raise InvalidParameterValue(
                f"tool_choice names the function '{name}', which is not among the tools.",
                param="tool_choice",
            )
    for index, tool in enumerate(tools or ()):
        parameters = tool["function"].get("parameters")
        if parameters is not None:
            check_json_schema(parameters, f"tools[{index}].function.parameters")


def check_response_format(body: Mapping[str, Any], model: Model) -> None:
    """Structured output needs a capable model and a valid JSON Schema."""
    response_format = body.get("response_format")
    if not response_format or response_format.get("type") != "json_schema":
        return
    if not model.supports("json_schema"):
        raise InvalidParameterValue(
            f"The model '{model.id}' does not support structured output (json_schema).",
            param="response_format",
        )
    json_schema = response_format.get("json_schema") or {}
    schema = json_schema.get("schema")
    if schema is None:
        raise InvalidJSONSchema(
            "response_format.json_schema.schema is required for json_schema output."
        )
    check_json_schema(schema, "response_format")


def check_json_schema(schema: Any, param: str) -> None:
    """Raise ``invalid_json_schema`` unless ``schema`` is a valid JSON Schema (2020-12)."""
    problem = _schema_problem(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    if problem is not None:
        raise InvalidJSONSchema(f"Invalid JSON Schema in {param}: {problem}", param=param)


@lru_cache(maxsize=512)
def _schema_problem(encoded: bytes) -> str | None:
    schema = orjson.loads(encoded)
    if not isinstance(schema, dict | bool):
        return "a schema must be an object or a boolean."
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path)
        return f"{exc.message}" + (f" (at '{where}')" if where else "") + "."
    return None


def output_limit(
    body: Mapping[str, Any], model: Model, names: Mapping[str, str] | None = None
) -> int | None:
    """The requested output limit, checked against the model's maximum.

    ``max_completion_tokens`` supersedes ``max_tokens`` when both are sent; each
    must be within the model's maximum. ``names`` maps chat-dialect fields to what
    the client called them (the Responses API's ``max_output_tokens`` arrives here
    as ``max_tokens``).
    """
    limits = {
        field: body[field]
        for field in ("max_completion_tokens", "max_tokens")
        if body.get(field) is not None
    }
    for field, limit in limits.items():
        if limit > model.max_output_tokens:
            param = (names or {}).get(field, field)
            raise InvalidParameterValue(
                f"{param} is too large: {limit}. The model '{model.id}' supports at most "
                f"{model.max_output_tokens} output tokens.",
                param=param,
            )
    return int(next(iter(limits.values()))) if limits else None


def check_context(body: Mapping[str, Any], model: Model, limit: int | None) -> int:
    """The prompt's token estimate, if it and ``limit`` fit the context window."""
    prompt = count_chat_tokens(body["messages"], body.get("tools"))
    wanted = prompt + (limit or 0)
    if prompt >= model.context_window or wanted > model.context_window:
        raise ContextLengthExceeded(
            f"This model's maximum context length is {model.context_window} tokens. "
            f"However, you requested {wanted} tokens ({prompt} in the messages, "
            f"{limit or 0} in the completion). Reduce the length of the messages or "
            "of the completion."
        )
    return prompt


def check_chat(
    body: Mapping[str, Any],
    model: Model,
    names: Mapping[str, str] | None = None,
    *,
    fit: bool = True,
) -> tuple[int, int | None]:
    """Every pre-dispatch check of a chat-dialect request; returns the prompt estimate
    and the requested output limit.

    ``names`` renames chat-dialect fields in error params (see :func:`output_limit`).
    ``fit=False`` leaves out the context window's check (context memory makes the
    prompt fit later).
    """
    check_inputs(body, model)
    check_tools(body, model)
    check_response_format(body, model)
    limit = output_limit(body, model, names)
    if not fit:
        return count_chat_tokens(body["messages"], body.get("tools")), limit
    return check_context(body, model, limit), limit
