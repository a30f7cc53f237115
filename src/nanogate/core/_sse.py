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
        self._buffer = bytearray()
        self._event = ""
        self._data: list[str] = []
        self._max_line = max_line

    def feed(self, chunk: bytes) -> Iterator[SSEEvent]:
        """The events completed by ``chunk``. Bytes already searched for a line end are
        not searched again, so a long line arriving in many reads costs linear time."""
        buffer = self._buffer
        searched = max(len(buffer) - 1, 0)  # a trailing CR may pair with a LF to come
        buffer += chunk
        start = 0
        try:
            while True:
                end = _line_end(buffer, max(start, searched))
                if end is None:
                    if len(buffer) - start > self._max_line:
                        raise ValueError("SSE line exceeds the size limit")
                    return
                cut, skip = end
                line = buffer[start:cut].decode("utf-8", errors="replace")
                start = searched = cut + skip
                event = self._line(line)
                if event is not None:
                    yield event
        finally:
            del buffer[:start]

    def flush(self) -> Iterator[SSEEvent]:
        """Dispatch what is pending at the end of the stream (a last line without newline)."""
        if self._buffer:
            line = bytes(self._buffer).removesuffix(b"\r").decode("utf-8", errors="replace")
            self._buffer.clear()
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


def _line_end(buffer: bytearray, start: int) -> tuple[int, int] | None:
    """Index and width of the first line terminator (CRLF, LF or CR) in ``buffer`` at or
    after ``start``."""
    lf = buffer.find(b"\n", start)
    cr = buffer.find(b"\r", start)
    if cr == -1 and lf == -1:
        return None
    if cr == -1 or (lf != -1 and lf < cr):
        return lf, 1
    if cr + 1 == len(buffer):
        return None  # a CR at the end may be the first half of CRLF
    return cr, 2 if buffer[cr + 1 : cr + 2] == b"\n" else 1
