"""Server-Sent Events: framing for what the gateway sends, decoding for what it reads."""

from __future__ import annotations

from typing import NamedTuple

DONE = b"data: [DONE]\n\n"
KEEPALIVE = b": keep-alive\n\n"


def sse_frame(data: bytes, event: str | None = None) -> bytes:
    """One SSE event carrying ``data`` (a single line of JSON) and an optional name."""
    if event is None:
        return b"data: " + data + b"\n\n"
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


class SSEEvent(NamedTuple):
    """A decoded event: its name (``""`` when unnamed) and its data lines joined. A
    named tuple rather than a frozen dataclass: one is made per streamed chunk, and a
    tuple is made in a third of the time."""

    event: str
    data: str


class SSEDecoder:
    """An incremental decoder of an SSE byte stream, per the WHATWG algorithm.

    Feed it bytes as they arrive; it returns the events they complete. Comments
    (keep-alives) are dropped. ``max_line`` bounds the memory a peer can make
    us hold for one line; a longer line raises :class:`ValueError`.
    """

    def __init__(self, max_line: int = 16 * 1024 * 1024) -> None:
        self._buffer = bytearray()
        self._event = b""
        self._data: list[bytes] = []
        self._max_line = max_line

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        """The events completed by ``chunk``. Bytes already searched for a line end are
        not searched again, so a long line arriving in many reads costs linear time."""
        buffer = self._buffer
        searched = max(len(buffer) - 1, 0)  # a trailing CR may pair with a LF to come
        buffer += chunk
        events: list[SSEEvent] = []
        if buffer.find(b"\r", searched) == -1:  # the common case: lines end with LF
            end = buffer.rfind(b"\n", searched)
            if end != -1:
                lines = buffer[:end].split(b"\n")
                del buffer[: end + 1]
                data = self._data
                for line in lines:  # data lines and event ends inline, the rest by _line
                    if line.startswith(b"data:"):
                        data.append(bytes(line[6:] if line[5:6] == b" " else line[5:]))
                    elif line or not data:
                        self._line(line)
                    else:
                        events.append(self._dispatch())
                        data = self._data
            if len(buffer) > self._max_line:
                raise ValueError("SSE line exceeds the size limit")
            return events
        start = 0
        try:
            while True:
                found = _line_end(buffer, max(start, searched))
                if found is None:
                    if len(buffer) - start > self._max_line:
                        raise ValueError("SSE line exceeds the size limit")
                    return events
                cut, skip = found
                line = buffer[start:cut]
                start = searched = cut + skip
                if (event := self._line(line)) is not None:
                    events.append(event)
        finally:
            del buffer[:start]

    def flush(self) -> list[SSEEvent]:
        """Dispatch what is pending at the end of the stream (a last line without newline)."""
        events: list[SSEEvent] = []
        if self._buffer:
            line = self._buffer.removesuffix(b"\r")
            self._buffer = bytearray()
            if (event := self._line(line)) is not None:
                events.append(event)
        if (event := self._line(b"")) is not None:
            events.append(event)
        return events

    def _line(self, line: bytes | bytearray) -> SSEEvent | None:
        if not line:
            if not self._data:
                self._event = b""
                return None
            return self._dispatch()
        if line[0] == _COLON:
            return None
        name, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._data.append(bytes(value))
        elif name == b"event":
            self._event = bytes(value)
        return None

    def _dispatch(self) -> SSEEvent:
        """The event the data lines so far make; the next one starts empty."""
        lines, name = self._data, self._event
        data = lines[0] if len(lines) == 1 else b"\n".join(lines)
        self._event, self._data = b"", []
        return SSEEvent(
            name.decode("utf-8", "replace") if name else "", data.decode("utf-8", "replace")
        )


_COLON = ord(":")


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
