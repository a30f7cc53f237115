"""Anthropic Messages → chat completions: a whole ``message`` as a ``chat.completion``.

Pure. Text blocks join into the message's content, ``tool_use`` blocks become
``tool_calls`` (arguments as a JSON string), the stop reason a finish reason,
and every input token (cache reads and writes included) counts as a prompt token.
Blocks chat has no place for (thinking, citations) are left out. An answer that is
not shaped like a message raises :class:`ValueError` (a malformed answer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

FINISH_REASONS: Mapping[str, str] = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}
"""Anthropic ``stop_reason`` → chat ``finish_reason``; anything else stops."""


def finish_reason(stop_reason: Any) -> str:
    """The chat ``finish_reason`` for an Anthropic ``stop_reason``."""
    return FINISH_REASONS.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def chat_usage(usage: Mapping[str, Any]) -> dict[str, Any] | None:
    """A chat ``usage`` object: input tokens, cache reads and cache writes are all
    prompt tokens (cache reads also reported as ``cached_tokens``). ``None`` when the
    upstream reported no token counts, so that the gateway estimates them."""
    if not any(isinstance(usage.get(k), int) for k in ("input_tokens", "output_tokens")):
        return None
    cached = _count(usage, "cache_read_input_tokens")
    prompt = _count(usage, "input_tokens") + cached + _count(usage, "cache_creation_input_tokens")
    completion = _count(usage, "output_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def _count(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) else 0


def tool_call(block: Mapping[str, Any]) -> dict[str, Any]:
    """A ``tool_use`` block as a chat tool call."""
    return {
        "id": str(block.get("id") or ""),
        "type": "function",
        "function": {
            "name": str(block.get("name") or ""),
            "arguments": orjson.dumps(block.get("input") or {}).decode(),
        },
    }


def chat_completion(message: Any, *, created: int) -> dict[str, Any]:
    """The ``chat.completion`` equivalent to an Anthropic ``message``."""
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        raise ValueError("an Anthropic answer without a content list")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for block in message["content"]:
        if not isinstance(block, dict):
            raise ValueError("an Anthropic content block that is not an object")
        if block.get("type") == "text":
            texts.append(str(block.get("text") or ""))
        elif block.get("type") == "tool_use":
            calls.append(tool_call(block))
    reply: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    if calls:
        reply["tool_calls"] = calls
    completion: dict[str, Any] = {
        "id": str(message.get("id") or ""),
        "object": "chat.completion",
        "created": created,
        "model": str(message.get("model") or ""),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "finish_reason": finish_reason(message.get("stop_reason")),
            }
        ],
    }
    usage = message.get("usage")
    counted = chat_usage(usage) if isinstance(usage, dict) else None
    if counted is not None:
        completion["usage"] = counted
    return completion
