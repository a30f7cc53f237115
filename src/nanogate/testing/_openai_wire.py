"""The OpenAI dialect of the fake upstream: answers, stream events and error bodies."""

from __future__ import annotations

from typing import Any

import orjson

from nanogate.testing._reply import Reply

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_denied_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "service_unavailable",
    504: "timeout_error",
}

_WORDING = {
    "context_length_exceeded": (
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 131072 tokens. Please reduce the length of the messages.",
        "messages",
    ),
    "content_filter": (
        "The response was filtered due to the prompt triggering the content management "
        "policy. Please modify your prompt and retry.",
        "prompt",
    ),
}
"""How OpenAI-compatible servers word the 400s the gateway must recognise, by code."""


def _type(status: int) -> str:
    return _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str, code: str | None) -> bytes:
    """``{"error": {"message", "type", "code", "param"}}``."""
    message, param = _WORDING.get(code or "", (message, None))
    error = {"message": message, "type": _type(status), "code": code, "param": param}
    return orjson.dumps({"error": error})


def error_event(status: int, message: str) -> bytes:
    """An in-band error in a stream, as OpenAI sends it: an error object, no choices."""
    error = {"message": message, "type": _type(status), "code": None, "param": None}
    return b"data: " + orjson.dumps({"error": error}) + b"\n\n"


def completion(reply: Reply, created: int) -> bytes:
    """A whole ``chat.completion``."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": reply.text or (None if reply.calls or reply.finish != "stop" else ""),
    }
    if reply.calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in reply.calls
        ]
    return orjson.dumps(
        {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": created,
            "model": reply.model,
            "choices": [{"index": 0, "message": message, "finish_reason": reply.finish}],
            "usage": _usage(reply),
        }
    )


def completion_events(reply: Reply, created: int) -> list[bytes]:
    """The ``chat.completion.chunk`` events of a streamed answer, ``[DONE]`` last."""

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        data = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": created,
            "model": reply.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + orjson.dumps(data) + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": piece}) for piece in reply.pieces]
    for index, call in enumerate(reply.calls):
        head = {"index": index, "id": call.id, "type": "function"}
        function = {"name": call.name, "arguments": ""}
        events.append(chunk({"tool_calls": [{**head, "function": function}]}))
        half = len(call.arguments) // 2
        for part in (call.arguments[:half], call.arguments[half:]):
            events.append(
                chunk({"tool_calls": [{"index": index, "function": {"arguments": part}}]})
            )
    events.append(chunk({}, reply.finish))
    usage = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": created,
        "model": reply.model,
        "choices": [],
        "usage": _usage(reply),
    }
    events.append(b"data: " + orjson.dumps(usage) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def _usage(reply: Reply) -> dict[str, int]:
    return {
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "total_tokens": reply.prompt_tokens + reply.completion_tokens,
    }


def embeddings(model: str, count: int, dimensions: int) -> bytes:
    """``count`` vectors of ``dimensions`` (``count`` 0 is the empty answer)."""
    data = [
        {"object": "embedding", "index": i, "embedding": [0.125] * dimensions} for i in range(count)
    ]
    return orjson.dumps(
        {
            "object": "list",
            "data": data,
            "model": model,
            "usage": {"prompt_tokens": 4 * count, "total_tokens": 4 * count},
        }
    )
