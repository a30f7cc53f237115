"""Server-Sent Events: framing for what the gateway sends, decoding for what it reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def sse_frame(data: bytes, event: str | None = None) -> bytes:
    """One SSE event carrying ``data`` (a single line of JSON) and an optional name."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """A decoded event: its name (``""`` when unnamed) and its data lines joined."""

    event: str
    data: str


class SSEDecoder:
    """An incremental decoder of an SSE byte stream, per the WHATWG algorithm.

    Feed it bytes as they arrive; it yields each complete event. Comments
    (keep-alives) are dropped. ``max_line`` bounds the memory a peer can make
    us hold for one line; a longer line raises :class:`ValueError`.
    """

    def __init__(self, max_line: int = 16 * 1024 * 1024) -> None:
        self._buffer = b""
        self._event = ""
        self._data: list[str] = []
        self._max_line = max_line

    def feed(self, chunk: bytes) -> Iterator[SSEEvent]:
        self._buffer += chunk
        while True:
            end = _line_end(self._buffer)
            if end is None:
                if len(self._buffer) > self._max_line:
                    raise ValueError("SSE line exceeds the size limit")
                return
            cut, skip = end
            line = self._buffer[:cut].decode("utf-8", errors="replace")
            self._buffer = self._buffer[cut + skip :]
            event = self._line(line)
            if event is not None:
                yield event

    def flush(self) -> Iterator[SSEEvent]:
        """Dispatch what is pending at the end of the stream (a last line without newline)."""
        if self._buffer:
            line = self._buffer.removesuffix(b"\r").decode("utf-8", errors="replace")
            self._buffer = b""
            event = self._line(line)
            if event is not None:
                yield event
        event = self._line("")
        if event is not None:
            yield event

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data:
                self._event = ""
                return None
            event = SSEEvent(self._event, "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Index and width of the first line terminator (CRLF, LF or CR) in ``buffer``."""
    lf = buffer.find(b"\n")
    cr = buffer.find(b"\r")
    if cr == -1 and lf == -1:
        return None
    if cr == -1 or (lf != -1 and lf < cr):
        return lf, 1
    if cr + 1 == len(buffer):
        return None  # a CR at the end may be the first half of CRLF
    return cr, 2 if buffer[cr + 1 : cr + 2] == b"\n" else 1
