"""Chat-completion chunks → Anthropic Messages stream events, as a sans-IO encoder.

The encoder holds the open content block and turns each chunk into the events
Anthropic would have sent::

    message_start, ping,
    (content_block_start, content_block_delta*, content_block_stop)*,
    message_delta, message_stop

A failure after the stream has begun ends it with one ``error`` event instead.
Only choice 0 is read; tool calls are assumed to arrive one after another, as
chat providers stream them (a fragment for a call already closed is dropped).
"""

from __future__ import annotations

from typing import Any

from nanogate.core._render import messages_stream_error
from nanogate.errors import GatewayError
from nanogate.translate._chunks import ChunkEncoder, Event
from nanogate.translate._messages import stop_reason


class MessagesStream(ChunkEncoder):
    """Encode one chat stream as one Anthropic Messages stream."""

    def __init__(self, *, model: str, message_id: str, input_tokens: int) -> None:
        super().__init__()
        self._model = model
        self._message_id = message_id
        self._input_tokens = input_tokens
        self._index = -1
        """Index of the last content block opened; ``-1`` before the first."""

    def start(self) -> list[Event]:
        """``message_start`` (an empty message) and a ``ping``."""
        message: dict[str, Any] = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": self._input_tokens, "output_tokens": 0},
        }
        return [
            ("message_start", {"type": "message_start", "message": message}),
            ("ping", {"type": "ping"}),
        ]

    def finish(self, pricing: dict[str, Any] | None = None) -> list[Event]:
        """Close the open block, then ``message_delta`` (carrying ``x_nanogpt_pricing``
        when given) and ``message_stop``."""
        events = self._close()
        usage: dict[str, Any] = {}
        if self.usage and self.usage.get("prompt_tokens") is not None:
            usage["input_tokens"] = self.usage["prompt_tokens"]
        usage["output_tokens"] = (self.usage or {}).get("completion_tokens") or 0
        reason = stop_reason(self.finish_reason, tool_calls=self.called_tools)
        delta = {"stop_reason": reason, "stop_sequence": None}
        data: dict[str, Any] = {"type": "message_delta", "delta": delta, "usage": usage}
        if pricing is not None:
            data["x_nanogpt_pricing"] = pricing
        events.append(("message_delta", data))
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def fail(self, err: GatewayError) -> list[Event]:
        """The terminal ``error`` event; no block is closed and no ``message_stop`` follows."""
        return [("error", messages_stream_error(err))]

    # Blocks ----------------------------------------------------------------------------

    def _start(self, item: str | int, call: dict[str, Any]) -> list[Event]:
        if item == "text":
            return [self._block_start({"type": "text", "text": ""})]
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": call.get("id") or f"toolu_{self._message_id}_{item}",
            "name": (call.get("function") or {}).get("name") or "",
            "input": {},
        }
        return [self._block_start(block)]

    def _text_delta(self, text: str) -> list[Event]:
        return [self._block_delta({"type": "text_delta", "text": text})]

    def _arguments_delta(self, arguments: str) -> list[Event]:
        return [self._block_delta({"type": "input_json_delta", "partial_json": arguments})]

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self._index})]

    def _block_start(self, block: dict[str, Any]) -> Event:
        self._index += 1
        data = {"type": "content_block_start", "index": self._index, "content_block": block}
        return ("content_block_start", data)

    def _block_delta(self, delta: dict[str, Any]) -> Event:
        data = {"type": "content_block_delta", "index": self._index, "delta": delta}
        return ("content_block_delta", data)
