"""Stream dialects: SSE events to items, error frames and truncation to StreamError.

Sans-IO: a dialect is fed decoded :class:`~nanogate.core.SSEEvent` s one at a time
and returns the item to hand the caller (or ``None`` to skip one), raising
:class:`StreamError` on an error frame; :meth:`end` raises unless the dialect's
terminal event was seen.

=================  ==========================  ===============================
dialect            items                       terminal / error
=================  ==========================  ===============================
chat completions   chunk dicts                 ``[DONE]`` / a chunk with ``error``
messages           ``{"event", "data"}``       ``message_stop`` / ``event: error``
responses          ``{"event", "data"}``       ``response.completed`` (or
                                               ``.incomplete``) / ``response.failed``
=================  ==========================  ===============================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from nanogate.client._errors import APIStatusError, StreamError
from nanogate.client._parse import build_error, error_from_envelope
from nanogate.core import SSEEvent

TRUNCATED = "stream_truncated"
INVALID_DATA = "invalid_stream_data"


class Dialect(Protocol):
    """How one API surface streams."""

    finished: bool
    """Whether the stream's terminal event has arrived."""

    def event(self, event: SSEEvent) -> dict[str, Any] | None:
        """The item ``event`` carries, or ``None`` for nothing; raises on an error."""
        ...

    def end(self) -> None:
        """The stream's bytes ended; raise :class:`StreamError` unless it finished."""
        ...


def stream_failure(
    headers: Mapping[str, str], code: str, message: str, *, retryable: bool
) -> StreamError:
    """A stream failure no frame describes (truncation, unreadable data): status ``None``."""
    request_id = headers.get("x-request-id") or headers.get("request-id")
    error = APIStatusError(
        message, code=code, retryable=retryable, request_id=request_id, headers=headers
    )
    return StreamError(error)


class _Dialect:
    """What the three dialects share: headers, the terminal flag, JSON data."""

    _terminal: frozenset[str] = frozenset()

    def __init__(self, headers: Mapping[str, str]) -> None:
        self.headers = headers
        """The stream response's headers, lower-case names."""
        self.finished = False

    def end(self) -> None:
        if not self.finished:
            raise stream_failure(
                self.headers,
                TRUNCATED,
                "The stream ended before its terminal event.",
                retryable=True,
            )

    def _json(self, data: str) -> dict[str, Any]:
        try:
            value = json.loads(data)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise stream_failure(
                self.headers, INVALID_DATA, "The stream sent unreadable data.", retryable=False
            )
        return value

    def _named(self, event: SSEEvent) -> dict[str, Any] | None:
        """``{"event", "data"}`` for a named event; marks the terminal ones."""
        if self.finished:
            return None
        data = self._json(event.data)
        name = event.event or str(data.get("type", ""))
        self._check(name, data)
        if name in self._terminal:
            self.finished = True
        return {"event": name, "data": data}

    def _check(self, name: str, data: dict[str, Any]) -> None:
        if name == "error":
            raise StreamError(error_from_envelope(None, self.headers, data))


class ChatDialect(_Dialect):
    """Chat completions: JSON chunks, then ``data: [DONE]``."""

    def event(self, event: SSEEvent) -> dict[str, Any] | None:
        if self.finished:
            return None
        if event.data.strip() == "[DONE]":
            self.finished = True
            return None
        chunk = self._json(event.data)
        if chunk.get("error"):
            raise StreamError(error_from_envelope(None, self.headers, chunk))
        choices = chunk.get("choices")
        if isinstance(choices, list) and any(
            isinstance(choice, dict) and choice.get("finish_reason") == "error"
            for choice in choices
        ):
            message = "The stream ended with finish_reason 'error'."
            raise StreamError(build_error(500, self.headers, message=message, body=chunk))
        return chunk


class MessagesDialect(_Dialect):
    """Anthropic Messages: named events up to ``message_stop``; ``event: error`` fails."""

    _terminal = frozenset({"message_stop"})

    def event(self, event: SSEEvent) -> dict[str, Any] | None:
        return self._named(event)


class ResponsesDialect(_Dialect):
    """Responses: named events up to ``response.completed``; ``response.failed`` fails."""

    _terminal = frozenset({"response.completed", "response.incomplete"})

    def event(self, event: SSEEvent) -> dict[str, Any] | None:
        return self._named(event)

    def _check(self, name: str, data: dict[str, Any]) -> None:
        if name == "response.failed":
            response = data.get("response")
            failure = response.get("error") if isinstance(response, dict) else None
            envelope = {"error": failure if isinstance(failure, dict) else {}}
            error = error_from_envelope(None, self.headers, envelope)
            error.body = data
            raise StreamError(error)
        super()._check(name, data)
