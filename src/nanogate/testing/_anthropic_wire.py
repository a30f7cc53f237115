"""The Anthropic dialect of the fake upstream: messages, stream events and error bodies.

Usage is split the way Anthropic reports a partly cached prompt: of the reply's
prompt tokens, three are cache reads and one a cache write (when there are that
many), the rest ordinary input tokens.
"""

from __future__ import annotations

from typing import Any

import orjson

from nanogate.testing._reply import Reply

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}

_WORDING = {
    "context_length_exceeded": "prompt is too long: 210345 tokens > 200000 maximum",
    "content_filter": "Output blocked by content filtering policy",
}
"""How Anthropic words the 400s the gateway must recognise (it sends no code)."""

_STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "content_filter": "refusal"}


def _type(status: int) -> str:
    return _TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def _error(status: int, message: str) -> bytes:
    return orjson.dumps({"type": "error", "error": {"type": _type(status), "message": message}})


def error_body(status: int, message: str, code: str | None) -> bytes:
    """``{"type": "error", "error": {"type", "message"}}``."""
    return _error(status, _WORDING.get(code or "", message))


def error_event(status: int, message: str) -> bytes:
    """The in-band ``event: error`` of a stream."""
    return b"event: error\ndata: " + _error(status, message) + b"\n\n"


def _usage(reply: Reply, output_tokens: int) -> dict[str, int]:
    cached = min(3, reply.prompt_tokens)
    written = min(1, reply.prompt_tokens - cached)
    return {
        "input_tokens": reply.prompt_tokens - cached - written,
        "cache_creation_input_tokens": written,
        "cache_read_input_tokens": cached,
        "output_tokens": output_tokens,
    }


def _message(reply: Reply, content: list[dict[str, Any]], stop: str | None) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": reply.model,
        "content": content,
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": _usage(reply, reply.completion_tokens if stop else 1),
    }


def message(reply: Reply) -> bytes:
    """A whole ``message``."""
    content: list[dict[str, Any]] = []
    if reply.text:
        content.append({"type": "text", "text": reply.text})
    for call in reply.calls:
        tool_input = orjson.loads(call.arguments)
        content.append({"type": "tool_use", "id": call.id, "name": call.name, "input": tool_input})
    return orjson.dumps(_message(reply, content, _STOP_REASONS[reply.finish]))


def message_events(reply: Reply) -> list[bytes]:
    """The events of a streamed message, ``message_stop`` last."""
    events = [
        _event("message_start", message=_message(reply, [], None)),
        _event("ping"),
    ]
    index = 0
    if reply.pieces:
        text = {"type": "text", "text": ""}
        events.append(_event("content_block_start", index=index, content_block=text))
        for piece in reply.pieces:
            delta = {"type": "text_delta", "text": piece}
            events.append(_event("content_block_delta", index=index, delta=delta))
        events.append(_event("content_block_stop", index=index))
        index += 1
    for call in reply.calls:
        block: dict[str, Any] = {"type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        events.append(_event("content_block_start", index=index, content_block=block))
        half = len(call.arguments) // 2
        for part in ("", call.arguments[:half], call.arguments[half:]):
            delta = {"type": "input_json_delta", "partial_json": part}
            events.append(_event("content_block_delta", index=index, delta=delta))
        events.append(_event("content_block_stop", index=index))
        index += 1
    stop = {"stop_reason": _STOP_REASONS[reply.finish], "stop_sequence": None}
    usage = {"output_tokens": reply.completion_tokens}
    events.append(_event("message_delta", delta=stop, usage=usage))
    events.append(_event("message_stop"))
    return events


def _event(name: str, **data: Any) -> bytes:
    payload = orjson.dumps({"type": name, **data})
    return b"event: " + name.encode() + b"\ndata: " + payload + b"\n\n"
