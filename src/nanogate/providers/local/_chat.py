"""The local chat model: a deterministic reply to a chat-completions request.

``plan_reply`` decides what the model says (pure, no I/O): it echoes the last
user message, reports a tool result, calls a tool the user named, or fills in
the requested JSON shape; then it applies stop sequences and the token budget.
``completion`` and ``chunks`` render a plan as a ``chat.completion`` object or
as ``chat.completion.chunk`` objects. Token counts use the gateway tokenizer,
which for these models is *the* tokenizer, so usage is exact.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from nanogate.core import count_chat_tokens, count_tokens, tokenize
from nanogate.providers.local._schema_instance import instance_for

FinishReason = Literal["stop", "length", "tool_calls"]

GREETING = "Hello! I am nanogate's built-in local model."
_IMAGE_PARTS = ("image_url", "input_image", "image")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The one function call a reply makes; ``argument_tokens`` join to the arguments."""

    id: str
    name: str
    argument_tokens: tuple[str, ...]

    @property
    def arguments(self) -> str:
        return "".join(self.argument_tokens)


@dataclass(frozen=True, slots=True)
class Reply:
    """What one choice says, with exact token counts (per choice)."""

    content_tokens: tuple[str, ...]
    tool_call: ToolCall | None
    finish_reason: FinishReason
    prompt_tokens: int
    completion_tokens: int

    @property
    def content(self) -> str | None:
        """The message text; ``None`` when the reply is a tool call."""
        return None if self.tool_call is not None else "".join(self.content_tokens)


def plan_reply(
    body: Mapping[str, Any], max_output_tokens: int, prompt_tokens: int | None = None
) -> Reply:
    """The deterministic reply to a validated chat-completions request.

    ``prompt_tokens`` is the prompt's count when the caller has it already.
    """
    messages = [m for m in body.get("messages") or () if isinstance(m, Mapping)]
    if prompt_tokens is None:
        prompt_tokens = count_chat_tokens(messages, body.get("tools"))
    budget = _budget(body, max_output_tokens)
    tool = _chosen_tool(body, messages)
    if tool is not None:
        name, parameters = tool
        arguments = instance_for(parameters) if isinstance(parameters, Mapping) else {}
        encoded = json.dumps(
            arguments if isinstance(arguments, dict) else {},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        name_tokens = count_tokens(name)
        pieces = tokenize(encoded)
        kept = tuple(pieces[: max(budget - name_tokens, 0)])
        call = ToolCall(id=_call_id(body, name), name=name, argument_tokens=kept)
        return Reply(
            content_tokens=(),
            tool_call=call,
            finish_reason="length" if len(kept) < len(pieces) else "tool_calls",
            prompt_tokens=prompt_tokens,
            completion_tokens=name_tokens + len(kept),
        )
    text = _cut_at_stop(_content(body, messages), body.get("stop"))
    pieces = tokenize(text)
    kept = tuple(pieces[:budget])
    return Reply(
        content_tokens=kept,
        tool_call=None,
        finish_reason="length" if len(kept) < len(pieces) else "stop",
        prompt_tokens=prompt_tokens,
        completion_tokens=len(kept),
    )


def choice_count(body: Mapping[str, Any]) -> int:
    """How many choices the request asks for (``n``, default 1)."""
    n = body.get("n")
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def completion(
    reply: Reply, *, completion_id: str, model: str, created: int, n: int
) -> dict[str, Any]:
    """A ``chat.completion`` object with ``n`` identical choices."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.tool_call is not None:
        message["tool_calls"] = [_tool_call_object(reply.tool_call)]
    message["refusal"] = None
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": index,
                "message": dict(message),
                "logprobs": None,
                "finish_reason": reply.finish_reason,
            }
            for index in range(n)
        ],
        "usage": _usage(reply, n),
    }


def chunks(
    reply: Reply, *, completion_id: str, model: str, created: int, n: int
) -> Iterator[dict[str, Any]]:
    """``chat.completion.chunk`` objects, choice after choice, then one usage chunk.

    Each choice opens with a role chunk, sends one chunk per completion token
    (text tokens, or for a tool call a header chunk then one chunk per argument
    token), and closes with an empty delta carrying ``finish_reason``. The last
    chunk has no choices and carries ``usage``.
    """
    head: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
    }

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
        return {**head, "choices": [choice]}

    call = reply.tool_call
    for index in range(n):
        yield chunk(index, {"role": "assistant", "content": ""})
        if call is None:
            for token in reply.content_tokens:
                yield chunk(index, {"content": token})
        else:
            function = {"name": call.name, "arguments": ""}
            opening = {"index": 0, "id": call.id, "type": "function", "function": function}
            yield chunk(index, {"tool_calls": [opening]})
            for piece in call.argument_tokens:
                yield chunk(index, {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
        yield chunk(index, {}, reply.finish_reason)
    yield {**head, "choices": [], "usage": _usage(reply, n)}


def _usage(reply: Reply, n: int) -> dict[str, int]:
    completion_tokens = reply.completion_tokens * n
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": reply.prompt_tokens + completion_tokens,
    }


def _tool_call_object(call: ToolCall) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": call.id, "type": "function", "function": function}


def _budget(body: Mapping[str, Any], default: int) -> int:
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
    return default


def _cut_at_stop(text: str, stop: Any) -> str:
    """``text`` up to (not including) the earliest occurrence of any stop string."""
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    cuts = [text.find(s) for s in stops if isinstance(s, str) and s]
    found = [cut for cut in cuts if cut >= 0]
    return text[: min(found)] if found else text


def _content(body: Mapping[str, Any], messages: list[Mapping[str, Any]]) -> str:
    """The message text: the plain reply, or JSON when ``response_format`` asks for it."""
    text = _text_reply(messages)
    response_format = body.get("response_format")
    kind = response_format.get("type") if isinstance(response_format, Mapping) else None
    if kind == "json_object":
        return json.dumps({"reply": text}, separators=(",", ":"), ensure_ascii=False)
    if kind == "json_schema":
        spec = response_format.get("json_schema") if response_format else None
        schema = spec.get("schema") if isinstance(spec, Mapping) else None
        value = instance_for(schema) if isinstance(schema, Mapping) else {}
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text


def _text_reply(messages: list[Mapping[str, Any]]) -> str:
    if messages and messages[-1].get("role") == "tool":
        return f"The tool returned: {_text_of(messages[-1].get('content'))}"
    user = _last_user(messages)
    content = user.get("content") if user is not None else None
    text = _text_of(content)
    reply = f"You said: {text}" if text else GREETING
    images = _image_count(content)
    if images:
        reply += f" (I see {images} image{'' if images == 1 else 's'}.)"
    return reply


def _chosen_tool(
    body: Mapping[str, Any], messages: list[Mapping[str, Any]]
) -> tuple[str, Any] | None:
    """The ``(name, parameters)`` of the function to call, or ``None`` to answer in text."""
    tools = [
        tool["function"]
        for tool in body.get("tools") or ()
        if isinstance(tool, Mapping)
        and tool.get("type", "function") == "function"
        and isinstance(tool.get("function"), Mapping)
        and isinstance(tool["function"].get("name"), str)
    ]
    choice = body.get("tool_choice")
    if not tools or choice == "none" or (messages and messages[-1].get("role") == "tool"):
        return None
    if isinstance(choice, Mapping) and isinstance(choice.get("function"), Mapping):
        name = choice["function"].get("name")
        if isinstance(name, str):
            named: Mapping[str, Any] = next((tool for tool in tools if tool["name"] == name), {})
            return name, named.get("parameters")
    user = _last_user(messages)
    said = _text_of(user.get("content") if user is not None else None).lower()
    for tool in tools:
        name = tool["name"].lower()
        if name and name in said or name.replace("_", " ") in said:
            return tool["name"], tool.get("parameters")
    if choice == "required":
        return tools[0]["name"], tools[0].get("parameters")
    return None


def _call_id(body: Mapping[str, Any], name: str) -> str:
    """``call_`` and 24 hex digits hashed from the conversation and the chosen function."""
    seed = [body.get("messages"), body.get("tools"), name]
    digest = hashlib.sha256(json.dumps(seed, sort_keys=True, default=str).encode())
    return f"call_{digest.hexdigest()[:24]}"


def _last_user(messages: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    return next((m for m in reversed(messages) if m.get("role") == "user"), None)


def _text_of(content: Any) -> str:
    """A message content's text: the string, or its text parts joined with spaces."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [
        part["text"]
        for part in content
        if isinstance(part, Mapping)
        and part.get("type") in ("text", "input_text")
        and isinstance(part.get("text"), str)
    ]
    return " ".join(texts)


def _image_count(content: Any) -> int:
    if not isinstance(content, list):
        return 0
    return sum(
        1 for part in content if isinstance(part, Mapping) and part.get("type") in _IMAGE_PARTS
    )
