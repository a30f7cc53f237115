"""Reading request bodies: media type, encodings, size and time limits, and JSON parsing."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from starlette.datastructures import Headers

from nanogate.errors import InvalidJSON, RequestTimeout, RequestTooLarge, UnsupportedMediaType
from nanogate.server._body import (
    ClientDisconnected,
    check_media_type,
    decode_body,
    parse_json_object,
    read_body,
    read_json,
)


class FakeReceive:
    """An ASGI receive that hands out prepared messages and counts the calls."""

    def __init__(self, *messages: dict[str, Any]) -> None:
        self.messages = list(messages)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        return self.messages.pop(0)


def chunks(*parts: bytes) -> FakeReceive:
    """A body sent as several http.request messages."""
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    return FakeReceive(*messages)


async def stall() -> dict[str, Any]:
    """A client that never sends its body."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def headers(**values: str) -> Headers:
    return Headers(headers={k.replace("_", "-"): v for k, v in values.items()})


# Media type --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
        "application/merge-patch+json; charset=UTF-8",
    ],
)
def test_json_media_types_are_accepted(content_type: str) -> None:
    """application/json, with parameters or any case, and +json types are JSON."""
    check_media_type(headers(content_type=content_type))


def test_missing_content_type_is_accepted() -> None:
    """A body without Content-Type is read as JSON, as OpenAI-compatible servers do."""
    check_media_type(headers())


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
def test_other_media_types_are_415(content_type: str) -> None:
    """Declared non-JSON bodies are unsupported_media_type (415)."""
    with pytest.raises(UnsupportedMediaType) as info:
        check_media_type(headers(content_type=content_type))
    assert info.value.status == 415
    assert content_type.partition(";")[0] in info.value.message


@pytest.mark.parametrize("encoding", ["identity", "gzip", "deflate", "GZIP"])
def test_decodable_encodings(encoding: str) -> None:
    """identity, gzip and deflate bodies are accepted."""
    check_media_type(headers(content_type="application/json", content_encoding=encoding))


@pytest.mark.parametrize("encoding", ["br", "zstd", "compress"])
def test_other_encodings_are_415(encoding: str) -> None:
    """An encoding the gateway does not decode is unsupported_media_type."""
    with pytest.raises(UnsupportedMediaType) as info:
        check_media_type(headers(content_type="application/json", content_encoding=encoding))
    assert encoding in info.value.message


# Reading -----------------------------------------------------------------------------


async def test_read_body_single_message() -> None:
    """A body in one message is returned as is."""
    assert await read_body(headers(), chunks(b'{"a": 1}'), 100, 1.0) == b'{"a": 1}'


async def test_read_body_joins_chunks() -> None:
    """A body in several messages is joined in order."""
    receive = chunks(b'{"a"', b"", b": 1}")
    assert await read_body(headers(), receive, 100, 1.0) == b'{"a": 1}'
    assert receive.calls == 3


async def test_read_body_exactly_at_the_limit() -> None:
    """A body of exactly the limit is accepted."""
    body = b"x" * 100
    assert await read_body(headers(content_length="100"), chunks(body), 100, 1.0) == body


async def test_content_length_over_the_limit_reads_nothing() -> None:
    """A declared Content-Length over the limit is refused before receive is called."""
    receive = FakeReceive()
    with pytest.raises(RequestTooLarge) as info:
        await read_body(headers(content_length="101"), receive, 100, 1.0)
    assert receive.calls == 0
    assert info.value.status == 413
    assert "100" in info.value.message


async def test_streamed_bytes_over_the_limit_stop_reading() -> None:
    """Without Content-Length, reading stops as soon as the bytes pass the limit."""
    receive = chunks(b"x" * 60, b"x" * 60, b"x" * 60)
    with pytest.raises(RequestTooLarge):
        await read_body(headers(), receive, 100, 1.0)
    assert receive.calls == 2
    assert len(receive.messages) == 1


async def test_understated_content_length_is_still_limited() -> None:
    """A Content-Length that lies low does not lift the limit on what is received."""
    receive = chunks(b"x" * 60, b"x" * 60)
    with pytest.raises(RequestTooLarge):
        await read_body(headers(content_length="10"), receive, 100, 1.0)


async def test_slow_body_times_out() -> None:
    """A body not received in time is request_timeout, and the connection is closed."""
    with pytest.raises(RequestTimeout) as info:
        await read_body(headers(), stall, 100, 0.01)
    assert info.value.status == 408
    assert info.value.headers == {"connection": "close"}


async def test_timeout_covers_the_whole_body() -> None:
    """The time limit is for the whole body, not per chunk."""
    first = FakeReceive({"type": "http.request", "body": b"{", "more_body": True})

    async def receive() -> dict[str, Any]:
        return await (first() if first.messages else stall())

    with pytest.raises(RequestTimeout):
        await read_body(headers(), receive, 100, 0.01)


async def test_disconnect_raises_client_disconnected() -> None:
    """http.disconnect while reading is ClientDisconnected, not an error response."""
    receive = FakeReceive(
        {"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}
    )
    with pytest.raises(ClientDisconnected):
        await read_body(headers(), receive, 100, 1.0)


# Decoding ----------------------------------------------------------------------------

PLAIN = b'{"model": "local/chat", "messages": []}'


def test_decode_identity() -> None:
    """identity bodies are returned unchanged."""
    assert decode_body(PLAIN, "identity", 100) is PLAIN


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), (" GZip ", gzip.compress)],
    ids=["gzip", "deflate", "case-and-space"],
)
def test_decode_compressed(encoding: str, compress: Callable[[bytes], bytes]) -> None:
    """gzip and deflate (zlib) bodies are decompressed."""
    assert decode_body(compress(PLAIN), encoding, 1000) == PLAIN


def test_decoded_size_exactly_at_the_limit() -> None:
    """A body decompressing to exactly the limit is accepted."""
    assert decode_body(gzip.compress(PLAIN), "gzip", len(PLAIN)) == PLAIN


def test_decoded_size_over_the_limit() -> None:
    """A body decompressing to one byte over the limit is request_too_large."""
    with pytest.raises(RequestTooLarge):
        decode_body(gzip.compress(PLAIN), "gzip", len(PLAIN) - 1)


def test_gzip_bomb() -> None:
    """A small gzip body that expands past the limit is refused without expanding it all."""
    bomb = gzip.compress(b"0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(RequestTooLarge):
        decode_body(bomb, "gzip", 1_000_000)


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (b"\x1f\x8b\x08\x00garbage-not-deflate", "gzip"),
        (b"plainly not gzip", "gzip"),
        (b"plainly not deflate", "deflate"),
        (gzip.compress(PLAIN, mtime=0), "deflate"),
    ],
    ids=["bad-gzip-stream", "no-gzip-header", "not-deflate", "gzip-declared-as-deflate"],
)
def test_corrupt_compressed_body(raw: bytes, encoding: str) -> None:
    """A body that does not decompress is invalid_json naming the encoding."""
    with pytest.raises(InvalidJSON) as info:
        decode_body(raw, encoding, 1000)
    assert encoding in info.value.message


@pytest.mark.parametrize(
    "raw",
    [gzip.compress(PLAIN, mtime=0)[:-8], gzip.compress(PLAIN, mtime=0) + b"junk"],
    ids=["truncated", "trailing-junk"],
)
def test_incomplete_gzip_is_invalid(raw: bytes) -> None:
    """A gzip body that is truncated or has bytes after its end is invalid_json."""
    with pytest.raises(InvalidJSON):
        decode_body(raw, "gzip", 1000)


# Parsing -----------------------------------------------------------------------------


def test_parse_json_object() -> None:
    """A JSON object parses to a dict."""
    assert parse_json_object(b' {"a": [1, 2]} \n') == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "empty"),
        (b" \r\n\t ", "empty"),
        (b"not json", "not valid JSON"),
        (b'{"a": 1', "not valid JSON"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": "\xff"}', "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"text"', "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b"42", "must be a JSON object"),
    ],
    ids=[
        "empty",
        "whitespace",
        "not-json",
        "truncated",
        "nan",
        "bad-utf8",
        "array",
        "string",
        "null",
        "number",
    ],
)
def test_parse_refuses(body: bytes, fragment: str) -> None:
    """Empty, malformed and non-object bodies are invalid_json."""
    with pytest.raises(InvalidJSON) as info:
        parse_json_object(body)
    assert fragment in info.value.message
    assert info.value.status == 400


# The whole pipeline ------------------------------------------------------------------


async def test_read_json_gzip() -> None:
    """read_json checks the type, reads, decompresses and parses in one call."""
    raw = gzip.compress(PLAIN)
    hdrs = headers(
        content_type="application/json",
        content_encoding="gzip",
        content_length=str(len(raw)),
    )
    assert await read_json(hdrs, chunks(raw), 1000, 1.0) == {
        "model": "local/chat",
        "messages": [],
    }


async def test_read_json_refuses_media_type_before_reading() -> None:
    """A non-JSON Content-Type is refused before the body is read."""
    receive = FakeReceive()
    with pytest.raises(UnsupportedMediaType):
        await read_json(headers(content_type="text/plain"), receive, 1000, 1.0)
    assert receive.calls == 0
