"""What every encoder of chat chunks shares: reading choice 0, its text and tool calls."""

from __future__ import annotations

from typing import Any

Event = tuple[str, dict[str, Any]]
"""An SSE event: its name and its data (whose ``type`` is the name)."""


class ChunkEncoder:
    """The base of the dialect encoders.

    It feeds choice 0's deltas through one state machine: text and each tool call
    are *items* (a Messages content block, a Responses output item); one is open at
    a time; switching closes the open one and starts the next. A late fragment of a
    tool call already closed is dropped. Subclasses render the items through four
    hooks: ``_start``, ``_close``, ``_text_delta`` and ``_arguments_delta``.
    """

    usage: dict[str, Any] | None
    """The chat ``usage`` object of the stream, once a chunk has carried it."""
    finish_reason: str | None
    """The chat ``finish_reason`` of choice 0, once a chunk has carried it."""

    def __init__(self) -> None:
        self.usage = None
        self.finish_reason = None
        self._open: str | int | None = None
        """The open item: ``"text"``, a tool call's chat index, or ``None``."""
        self._seen_calls: set[int] = set()

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
            events.extend(self._switch("text", {}))
            events.extend(self._text_delta(delta["content"]))
        for call in delta.get("tool_calls") or []:
            position = call.get("index", 0)
            if self._open != position and position in self._seen_calls:
                continue
            events.extend(self._switch(position, call))
            arguments = (call.get("function") or {}).get("arguments")
            if arguments:
                events.extend(self._arguments_delta(arguments))
        return events

    @property
    def called_tools(self) -> bool:
        """Whether choice 0 has made a tool call so far."""
        return bool(self._seen_calls)

    def _switch(self, item: str | int, call: dict[str, Any]) -> list[Event]:
        """Make ``item`` the open one: close the current item, start the new."""
        if self._open == item:
            return []
        events = self._close()
        if isinstance(item, int):
            self._seen_calls.add(item)
        self._open = item
        events.extend(self._start(item, call))
        return events

    def _start(self, item: str | int, call: dict[str, Any]) -> list[Event]:
        """The events opening ``item`` (``call`` is the tool call's first fragment)."""
        raise NotImplementedError

    def _close(self) -> list[Event]:
        """The events closing the open item, if any; leaves none open."""
        raise NotImplementedError

    def _text_delta(self, text: str) -> list[Event]:
        raise NotImplementedError

    def _arguments_delta(self, arguments: str) -> list[Event]:
        raise NotImplementedError
