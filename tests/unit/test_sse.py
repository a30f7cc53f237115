"""Server-Sent Events: the frames the gateway writes and the incremental decoder it reads with."""

from __future__ import annotations

import itertools

import pytest

from nanogate.core import DONE, KEEPALIVE, SSEDecoder, SSEEvent, sse_frame


def decode(*chunks: bytes, flush: bool = True) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    if flush:
        events.extend(decoder.flush())
    return events


# Framing -----------------------------------------------------------------------------


def test_sse_frame_data_only() -> None:
    """An unnamed frame is one data line and a blank line."""
    assert sse_frame(b'{"a":1}') == b'data: {"a":1}\n\n'


def test_sse_frame_with_event_name() -> None:
    """A named frame puts the event line before the data line."""
    assert sse_frame(b'{"type":"error"}', "error") == b'event: error\ndata: {"type":"error"}\n\n'


def test_done_and_keepalive() -> None:
    """[DONE] is a data event; the keep-alive is a comment line, never a data event."""
    assert DONE == b"data: [DONE]\n\n"
    assert KEEPALIVE == b": keep-alive\n\n"
    assert decode(KEEPALIVE) == []
    assert decode(DONE) == [SSEEvent("", "[DONE]")]


def test_frames_round_trip_through_the_decoder() -> None:
    """What sse_frame writes, SSEDecoder reads back."""
    stream = sse_frame(b'{"x":1}') + KEEPALIVE + sse_frame(b"{}", "ping") + DONE
    assert decode(stream) == [
        SSEEvent("", '{"x":1}'),
        SSEEvent("ping", "{}"),
        SSEEvent("", "[DONE]"),
    ]


# Decoding ----------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_line_endings(eol: bytes) -> None:
    """LF, CRLF and CR all end lines."""
    stream = b"event: a" + eol + b"data: 1" + eol + eol + b"data: 2" + eol + eol
    assert decode(stream) == [SSEEvent("a", "1"), SSEEvent("", "2")]


def test_cr_at_the_end_of_a_chunk_waits_for_the_next_byte() -> None:
    """A CR ending a chunk may be half of a CRLF, so its line completes with the next byte."""
    decoder = SSEDecoder()
    assert list(decoder.feed(b"data: 1\r\r")) == []
    assert list(decoder.feed(b"\n")) == [SSEEvent("", "1")]
    assert list(decoder.feed(b"data: 2\r\r")) == []
    assert list(decoder.feed(b"data: 3\r\r")) == [SSEEvent("", "2")]


def test_mixed_line_endings() -> None:
    """Line endings may change from line to line within one stream."""
    stream = b"data: 1\r\n\ndata: 2\r\rdata: 3\n\r\n"
    assert decode(stream, flush=False) == [
        SSEEvent("", "1"),
        SSEEvent("", "2"),
        SSEEvent("", "3"),
    ]


STREAM = (
    b": keep-alive\r\n\r\n"
    b'event: message_start\r\ndata: {"a": 1}\r\n\r\n'
    b"data: line one\rdata: line two\r\r"
    b"data:no-space\n\n"
    b"event: caf\xc3\xa9 \xf0\x9f\x99\x82\ndata: \xe4\xbd\xa0\xe5\xa5\xbd\n\n"
    b"data: [DONE]\r\n\r\n"
)
STREAM_EVENTS = [
    SSEEvent("message_start", '{"a": 1}'),
    SSEEvent("", "line one\nline two"),
    SSEEvent("", "no-space"),
    SSEEvent("café 🙂", "你好"),
    SSEEvent("", "[DONE]"),
]


def test_reference_stream() -> None:
    """The reference stream, fed whole, decodes to its events."""
    assert decode(STREAM, flush=False) == STREAM_EVENTS


def test_every_single_split_point() -> None:
    """Cutting the stream into two chunks at any byte gives the same events."""
    for cut in range(len(STREAM) + 1):
        assert decode(STREAM[:cut], STREAM[cut:]) == STREAM_EVENTS, f"cut at {cut}"


def test_every_pair_of_split_points() -> None:
    """Cutting the stream into three chunks at any two bytes gives the same events."""
    for a, b in itertools.combinations(range(len(STREAM) + 1), 2):
        chunks = (STREAM[:a], STREAM[a:b], STREAM[b:])
        assert decode(*chunks) == STREAM_EVENTS, f"cuts at {a} and {b}"


def test_byte_by_byte() -> None:
    """Feeding one byte at a time (CRLF and multi-byte UTF-8 split) gives the same events."""
    assert decode(*(STREAM[i : i + 1] for i in range(len(STREAM)))) == STREAM_EVENTS


def test_comments_are_ignored() -> None:
    """Comment lines never produce events, even between the lines of one event."""
    assert decode(b": hi\n\n:\n\n") == []
    assert decode(b"data: a\n: note\ndata: b\n\n") == [SSEEvent("", "a\nb")]


def test_multiline_data_is_joined_with_newlines() -> None:
    """Several data lines of one event are joined with a newline."""
    assert decode(b"data: a\ndata:\ndata: c\n\n") == [SSEEvent("", "a\n\nc")]


def test_only_one_leading_space_is_stripped() -> None:
    """One space after the colon is dropped; further spaces belong to the value."""
    assert decode(b"data:  two\n\n") == [SSEEvent("", " two")]


def test_event_name_applies_to_one_event() -> None:
    """An event name is reset after its event is dispatched."""
    assert decode(b"event: error\ndata: x\n\ndata: y\n\n") == [
        SSEEvent("error", "x"),
        SSEEvent("", "y"),
    ]


def test_event_without_data_is_not_dispatched() -> None:
    """A blank line after only an event name dispatches nothing and forgets the name."""
    assert decode(b"event: ping\n\ndata: y\n\n") == [SSEEvent("", "y")]


def test_unknown_fields_are_ignored() -> None:
    """id, retry and unknown fields do not change the decoded events."""
    assert decode(b"id: 7\nretry: 100\nfoo: bar\ndata: x\n\n") == [SSEEvent("", "x")]


def test_events_wait_for_the_blank_line() -> None:
    """An event is only yielded once its terminating blank line arrives."""
    decoder = SSEDecoder()
    assert list(decoder.feed(b"data: x\n")) == []
    assert list(decoder.feed(b"\n")) == [SSEEvent("", "x")]


def test_flush_dispatches_a_final_unterminated_event() -> None:
    """At end of stream, flush() dispatches an event missing its newline or blank line."""
    for tail in (b"data: x", b"data: x\n"):
        decoder = SSEDecoder()
        assert list(decoder.feed(tail)) == []
        assert list(decoder.flush()) == [SSEEvent("", "x")]


def test_flush_after_a_trailing_cr() -> None:
    """A stream ending in a lone CR line terminator flushes the line without the CR."""
    decoder = SSEDecoder()
    assert list(decoder.feed(b"data: x\r")) == []
    assert list(decoder.flush()) == [SSEEvent("", "x")]


def test_flush_of_nothing() -> None:
    """flush() on an empty or fully consumed decoder yields nothing."""
    assert list(SSEDecoder().flush()) == []
    decoder = SSEDecoder()
    assert list(decoder.feed(b"data: x\n\n")) == [SSEEvent("", "x")]
    assert list(decoder.flush()) == []


def test_max_line_guard() -> None:
    """An unterminated line longer than max_line raises ValueError."""
    decoder = SSEDecoder(max_line=16)
    with pytest.raises(ValueError):
        list(decoder.feed(b"data: " + b"x" * 20))


def test_max_line_guard_across_chunks() -> None:
    """A long line arriving in small chunks raises once it passes max_line."""
    decoder = SSEDecoder(max_line=16)
    for _ in range(4):
        assert list(decoder.feed(b"xxxx")) == []
    with pytest.raises(ValueError):
        list(decoder.feed(b"x"))


def test_max_line_allows_lines_up_to_the_limit() -> None:
    """A pending line of exactly max_line bytes is accepted and decodes normally."""
    decoder = SSEDecoder(max_line=16)
    assert list(decoder.feed(b"data: " + b"x" * 10)) == []
    assert list(decoder.feed(b"\n\n")) == [SSEEvent("", "x" * 10)]


def test_invalid_utf8_is_replaced() -> None:
    """Bytes that are not UTF-8 decode to the replacement character, not an exception."""
    assert decode(b"data: \xff\n\n") == [SSEEvent("", "\ufffd")]
