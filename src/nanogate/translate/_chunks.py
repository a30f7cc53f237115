"""What every encoder of chat chunks shares: reading choice 0, its text and tool calls."""

from __future__ import annotations

from typing import Any

Event = tuple[str, dict[str, Any]]
"""An SSE event: its name and its data (whose ``type`` is the name)."""


class ChunkEncoder:
    """The base of the dialect encoders: feeds choice 0's deltas to ``_text`` and
    ``_tool_call``, and keeps the stream's ``usage`` and ``finish_reason``."""

    usage: dict[str, Any] | None
    """The chat ``usage`` object of the stream, once a chunk has carried it."""
    finish_reason: str | None
    """The chat ``finish_reason`` of choice 0, once a chunk has carried it."""

    def __init__(self) -> None:
        self.usage = None
        self.finish_reason = None

    def feed(self, chunk: dict[str, Any]) -> list[Event]:
        """The events for one ``chat.completion.chunk``."""
        if chunk.get("usage"):
            self.usage = chunk["usage"]
        choice = next((c for c in chunk.get("choices") or [] if c.get("index", 0) == 0), None)
        if choice is None:
            return []
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
        delta = choice.get("delta") or {}
        events: list[Event] = []
        if delta.get("content"):
            events.extend(self._text(delta["content"]))
        for call in delta.get("tool_calls") or []:
            events.extend(self._tool_call(call))
        return events

    def _text(self, text: str) -> list[Event]:
        raise NotImplementedError

    def _tool_call(self, call: dict[str, Any]) -> list[Event]:
        raise NotImplementedError
