"""Stream writers: chat chunks into each dialect's SSE bytes."""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from nanogate.core import DONE, chat_stream_error, sse_frame
from nanogate.errors import GatewayError

Event = tuple[str, dict[str, Any]]


def _finishes(chunk: dict[str, Any]) -> bool:
    """Whether a choice of ``chunk`` ends (has a finish reason)."""
    for choice in chunk.get("choices") or ():
        if choice.get("finish_reason"):
            return True
    return False


class ChatWriter:
    """Chat completions: chunks pass through with the public model id.

    The usage chunk every provider ends with is forwarded only when the client
    asked for it with ``stream_options.include_usage``. The stream's tail (the
    chunk with the finish reason and the usage chunk) is held back until the
    stream has settled, so the last chunk sent carries ``x_nanogpt_pricing``.
    """

    def __init__(self, model: str, include_usage: bool) -> None:
        self.model = model
        self.include_usage = include_usage
        self.chunk_id = ""
        self._tail: list[dict[str, Any]] = []

    def start(self) -> bytes:
        return b""

    def feed(self, chunk: dict[str, Any]) -> bytes:
        self.chunk_id = chunk.get("id") or self.chunk_id
        usage_only = not chunk.get("choices") and bool(chunk.get("usage"))
        if usage_only and not self.include_usage:
            return b""
        chunk["model"] = self.model
        if usage_only or _finishes(chunk):
            self._tail.append(chunk)
            return b""
        return sse_frame(orjson.dumps(chunk))

    def finish(self, pricing: dict[str, Any]) -> bytes:
        if self._tail:
            self._tail[-1]["x_nanogpt_pricing"] = pricing
        return b"".join(sse_frame(orjson.dumps(chunk)) for chunk in self._tail) + DONE

    def fail(self, err: GatewayError) -> bytes:
        """The held-back tail is dropped: a failed stream never shows a finish reason."""
        self._tail.clear()
        return (
            sse_frame(orjson.dumps(chat_stream_error(err, self.chunk_id or "chatcmpl_error")))
            + DONE
        )


class EventEncoder(Protocol):
    """A sans-IO encoder of chat chunks into named events (Messages, Responses)."""

    def start(self) -> list[Event]: ...

    def feed(self, chunk: dict[str, Any]) -> list[Event]: ...

    def finish(self, pricing: dict[str, Any] | None = None) -> list[Event]: ...

    def fail(self, err: GatewayError) -> list[Event]: ...


class EventWriter:
    """SSE bytes for a named-event encoder: ``event: <name>`` then ``data: <json>``."""

    def __init__(self, encoder: EventEncoder) -> None:
        self.encoder = encoder

    @staticmethod
    def _frames(events: list[Event]) -> bytes:
        return b"".join(sse_frame(orjson.dumps(data), name) for name, data in events)

    def start(self) -> bytes:
        return self._frames(self.encoder.start())

    def feed(self, chunk: dict[str, Any]) -> bytes:
        return self._frames(self.encoder.feed(chunk))

    def finish(self, pricing: dict[str, Any]) -> bytes:
        return self._frames(self.encoder.finish(pricing))

    def fail(self, err: GatewayError) -> bytes:
        return self._frames(self.encoder.fail(err))
