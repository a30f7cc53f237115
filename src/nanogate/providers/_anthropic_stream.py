"""Anthropic Messages stream events → chat-completion chunks, as a sans-IO decoder.

Each event becomes the chunks a chat provider would have sent for it, at once::

    message_start          → a role chunk
    content_block_start    → (tool_use) a tool-call chunk with index, id and name
    content_block_delta    → a content chunk (text_delta), or an arguments
                             fragment of the open tool call (input_json_delta)
    message_delta          → the finish chunk
    message_stop           → the usage chunk (``choices: []``, when the upstream
                             counted tokens); the stream is done
    error                  → the mapped catalogue error is raised

``ping``, ``content_block_stop`` and event types the decoder does not know yield
nothing (Anthropic may add event types). Usage is the latest value of each count
across ``message_start`` and ``message_delta``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from nanogate.core import Secrets
from nanogate.providers._anthropic_reply import chat_usage, finish_reason
from nanogate.providers._upstream_errors import error_for_event

Chunk = dict[str, Any]


class AnthropicChunks:
    """Decode one Anthropic stream: :meth:`feed` each event's data, in order."""

    done: bool
    """Whether ``message_stop`` has arrived: the stream is complete."""

    def __init__(self, *, created: int, byok: bool = False, secrets: Secrets | None = None) -> None:
        self.done = False
        self._byok = byok
        """The call used the caller's own credential: its refusal is "your API key"."""
        self._secrets = secrets
        """The credentials the call was sent with, which an error event must not repeat."""
        self._created = created
        self._id = ""
        self._model = ""
        self._usage: dict[str, int] = {}
        self._calls: dict[int, int] = {}
        """Content block index → chat tool-call index, for tool_use blocks."""
        self._finished = False

    def feed(self, data: Mapping[str, Any]) -> list[Chunk]:
        """The chat chunks for one event's data (its ``type`` names the event)."""
        handler = _HANDLERS.get(str(data.get("type")))
        return handler(self, data) if handler is not None else []

    # Events ------------------------------------------------------------------------------

    def _message_start(self, data: Mapping[str, Any]) -> list[Chunk]:
        message = _object(data.get("message"))
        self._id = str(message.get("id") or "")
        self._model = str(message.get("model") or "")
        self._count(message.get("usage"))
        return [self._chunk({"role": "assistant", "content": ""})]

    def _block_start(self, data: Mapping[str, Any]) -> list[Chunk]:
        block = _object(data.get("content_block"))
        if block.get("type") == "text":
            return self._text(block.get("text"))
        if block.get("type") != "tool_use":
            return []
        position = len(self._calls)
        self._calls[_index(data)] = position
        call = {"index": position, "type": "function", **_tool_head(block)}
        return [self._chunk({"tool_calls": [call]})]

    def _block_delta(self, data: Mapping[str, Any]) -> list[Chunk]:
        delta = _object(data.get("delta"))
        if delta.get("type") == "text_delta":
            return self._text(delta.get("text"))
        position = self._calls.get(_index(data))
        fragment = delta.get("partial_json")
        if delta.get("type") != "input_json_delta" or position is None or not fragment:
            return []
        call = {"index": position, "function": {"arguments": str(fragment)}}
        return [self._chunk({"tool_calls": [call]})]

    def _message_delta(self, data: Mapping[str, Any]) -> list[Chunk]:
        self._count(data.get("usage"))
        self._finished = True
        stop_reason = _object(data.get("delta")).get("stop_reason")
        return [self._chunk({}, finish_reason(stop_reason))]

    def _message_stop(self, data: Mapping[str, Any]) -> list[Chunk]:
        self.done = True
        chunks = [] if self._finished else [self._chunk({}, "stop")]
        usage = chat_usage(self._usage)
        if usage is not None:
            chunks.append({**self._chunk({}), "choices": [], "usage": usage})
        return chunks

    def _error(self, data: Mapping[str, Any]) -> list[Chunk]:
        raise error_for_event(
            dict(data), dialect="anthropic", byok=self._byok, secrets=self._secrets
        )

    # Helpers -----------------------------------------------------------------------------

    def _text(self, text: Any) -> list[Chunk]:
        return [self._chunk({"content": text})] if isinstance(text, str) and text else []

    def _count(self, usage: Any) -> None:
        for key, value in _object(usage).items():
            if isinstance(value, int):
                self._usage[key] = value

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> Chunk:
        return {
            "id": self._id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }


_HANDLERS: Mapping[str, Callable[[AnthropicChunks, Mapping[str, Any]], list[Chunk]]] = {
    "message_start": AnthropicChunks._message_start,
    "content_block_start": AnthropicChunks._block_start,
    "content_block_delta": AnthropicChunks._block_delta,
    "message_delta": AnthropicChunks._message_delta,
    "message_stop": AnthropicChunks._message_stop,
    "error": AnthropicChunks._error,
}


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _index(data: Mapping[str, Any]) -> int:
    index = data.get("index")
    return index if isinstance(index, int) else -1


def _tool_head(block: Mapping[str, Any]) -> dict[str, Any]:
    """A tool call's id and name, with any input the block already carries."""
    given = block.get("input")
    arguments = orjson.dumps(given).decode() if given else ""
    return {
        "id": str(block.get("id") or ""),
        "function": {"name": str(block.get("name") or ""), "arguments": arguments},
    }
