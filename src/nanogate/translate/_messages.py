"""Anthropic Messages ⇄ chat completions: the request going in, the message coming out.

Both functions are pure: they read plain dicts already validated by the
gateway and return new plain dicts. Anthropic-only knobs with no chat
equivalent (``top_k``, ``cache_control``, thinking blocks) are dropped.
"""

from __future__ import annotations

import base64
from typing import Any

import orjson

CUT_SHORT = {"length": "max_tokens", "content_filter": "refusal"}
"""Chat ``finish_reason`` values that cut a turn short → Anthropic ``stop_reason``."""

_TOOL_CHOICES: dict[str, str] = {"auto": "auto", "any": "required", "none": "none"}


def stop_reason(finish_reason: str | None, *, tool_calls: bool) -> str:
    """The Anthropic ``stop_reason`` for a chat turn that ended with ``finish_reason``
    and made ``tool_calls`` (or not).

    A turn cut short stays so (``max_tokens``, ``refusal``): its calls may be
    incomplete and must not be run. Otherwise the turn's content decides, not the
    word the upstream chose: tool calls mean ``tool_use``, none mean ``end_turn``.
    OpenAI and vLLM finish a forced call with ``stop``, and LiteLLM's proxy streams that on.
    """
    cut = CUT_SHORT.get(finish_reason or "")
    if cut is not None:
        return cut
    return "tool_use" if tool_calls else "end_turn"


def tool_input(arguments: str | None) -> dict[str, Any]:
    """A tool call's ``arguments`` string as an object; ``{}`` unless it is a JSON object."""
    try:
        value = orjson.loads(arguments or "")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def messages_to_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The chat-completions request equivalent to an Anthropic Messages request."""
    messages: list[dict[str, Any]] = []
    system = body.get("system")
    if system:
        messages.append({"role": "system", "content": _text_of(system)})
    for message in body["messages"]:
        if message["role"] == "assistant":
            messages.extend(_assistant(message["content"]))
        else:
            messages.extend(_user(message["content"]))
    chat: dict[str, Any] = {"model": body["model"], "messages": messages}
    if "max_tokens" in body:
        chat["max_tokens"] = body["max_tokens"]
    if body.get("stop_sequences") is not None:
        chat["stop"] = body["stop_sequences"]
    for key in ("temperature", "top_p", "stream"):
        if body.get(key) is not None:
            chat[key] = body[key]
    user = (body.get("metadata") or {}).get("user_id")
    if user is not None:
        chat["user"] = user
    if body.get("tools"):
        chat["tools"] = [_tool(tool) for tool in body["tools"]]
    choice = body.get("tool_choice")
    if choice:
        chat["tool_choice"] = _tool_choice(choice)
        if choice.get("disable_parallel_tool_use"):
            chat["parallel_tool_calls"] = False
    return chat


def chat_to_message(completion: dict[str, Any], *, model: str, message_id: str) -> dict[str, Any]:
    """The Anthropic ``message`` equivalent to a ``chat.completion``."""
    choices = completion.get("choices") or [{}]
    choice = choices[0]
    reply = choice.get("message") or {}
    content: list[dict[str, Any]] = []
    if reply.get("content"):
        content.append({"type": "text", "text": reply["content"]})
    for call in reply.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call["id"],
                "name": function.get("name", ""),
                "input": tool_input(function.get("arguments")),
            }
        )
    usage = completion.get("usage") or {}
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason(
            choice.get("finish_reason"), tool_calls=bool(reply.get("tool_calls"))
        ),
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage.get("prompt_tokens") or 0,
            "output_tokens": usage.get("completion_tokens") or 0,
        },
    }


# Requests ------------------------------------------------------------------------------


def _blocks(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else content


def _text_of(content: str | list[dict[str, Any]]) -> str:
    """The text blocks of ``content`` joined by newlines (other blocks are ignored)."""
    if isinstance(content, str):
        return content
    return "\n".join(block["text"] for block in content if block.get("type") == "text")


def _assistant(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in _blocks(content):
        if block["type"] == "text":
            texts.append(block["text"])
        elif block["type"] == "tool_use":
            arguments = orjson.dumps(block.get("input") or {}).decode()
            calls.append(
                {
                    "id": block["id"],
                    "type": "function",
                    "function": {"name": block["name"], "arguments": arguments},
                }
            )
    text = "".join(texts)
    if not calls:
        return [{"role": "assistant", "content": text}]
    return [{"role": "assistant", "content": text or None, "tool_calls": calls}]


def _user(content: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tool results become ``tool`` messages first; the rest is one user message after them."""
    out: list[dict[str, Any]] = []
    parts: list[dict[str, Any]] = []
    for block in _blocks(content):
        if block["type"] == "tool_result":
            out.append(_tool_result(block))
            inner = block.get("content")
            if isinstance(inner, list):
                parts.extend(_part(b) for b in inner if b["type"] != "text")
        elif block["type"] in ("text", "image", "document"):
            parts.append(_part(block))
    if len(parts) == 1 and parts[0]["type"] == "text":
        out.append({"role": "user", "content": parts[0]["text"]})
    elif parts:
        out.append({"role": "user", "content": parts})
    return out


def _tool_result(block: dict[str, Any]) -> dict[str, Any]:
    """A ``tool`` message; an error result says so in its text (chat has no error flag)."""
    text = _text_of(block.get("content") or "")
    if block.get("is_error"):
        text = f"Error: {text}" if text else "Error"
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}


def _part(block: dict[str, Any]) -> dict[str, Any]:
    kind = block["type"]
    if kind == "text":
        return {"type": "text", "text": block["text"]}
    source = block["source"]
    if kind == "image":
        if source["type"] == "url":
            return {"type": "image_url", "image_url": {"url": source["url"]}}
        url = f"data:{source['media_type']};base64,{source['data']}"
        return {"type": "image_url", "image_url": {"url": url}}
    if source["type"] == "url":
        return {"type": "file", "file": {"file_url": source["url"]}}
    if source["type"] == "text":
        data = base64.b64encode(source["data"].encode()).decode()
        media_type = source.get("media_type") or "text/plain"
        url = f"data:{media_type};base64,{data}"
        return {"type": "file", "file": {"file_data": url, "filename": "document.txt"}}
    url = f"data:{source['media_type']};base64,{source['data']}"
    return {"type": "file", "file": {"file_data": url, "filename": "document.pdf"}}


def _tool(tool: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool["name"]}
    if tool.get("description") is not None:
        function["description"] = tool["description"]
    function["parameters"] = tool["input_schema"]
    return {"type": "function", "function": function}


def _tool_choice(choice: dict[str, Any]) -> str | dict[str, Any]:
    if choice["type"] == "tool":
        return {"type": "function", "function": {"name": choice["name"]}}
    return _TOOL_CHOICES[choice["type"]]
