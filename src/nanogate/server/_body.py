"""Reading a JSON request body: media type, encoding, size and time limits.

Oversized bodies are refused from ``Content-Length`` before anything is read,
or as soon as the bytes received pass the limit; the rest of the body is never
held in memory. A body that does not arrive in time is a 408.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.types import Receive

from nanogate._deadline import Deadline
from nanogate.errors import InvalidJSON, RequestTimeout, RequestTooLarge, UnsupportedMediaType

_DECODABLE = ("identity", "gzip", "deflate")


class ClientDisconnected(Exception):
    """The client went away before its body arrived; there is no one to answer."""


def check_media_type(headers: Headers) -> None:
    """Refuse a body that is declared as something other than JSON.

    A missing ``Content-Type`` is accepted and parsed as JSON, as most
    OpenAI-compatible servers do.
    """
    content_type = headers.get("content-type")
    if content_type:
        media = content_type.partition(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(
                f"Unsupported Content-Type '{media}'; send the body as application/json."
            )
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding not in _DECODABLE:
        raise UnsupportedMediaType(
            f"Unsupported Content-Encoding '{encoding}'; send identity, gzip or deflate."
        )


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"The request body is larger than the limit of {limit} bytes.")


async def read_body(headers: Headers, receive: Receive, limit: int, timeout: float) -> bytes:
    """The raw body, at most ``limit`` bytes, received within ``timeout`` seconds."""
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    try:
        with Deadline(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientDisconnected
                chunk: bytes = message.get("body", b"")
                if chunk:
                    size += len(chunk)
                    if size > limit:
                        raise _too_large(limit)
                    chunks.append(chunk)
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise RequestTimeout(
            f"The request body was not received within {timeout:g} seconds.",
            headers={"connection": "close"},
        ) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode_body(raw: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding``, refusing output past ``limit`` bytes."""
    encoding = encoding.strip().lower()
    if encoding == "identity":
        return raw
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    decoder = zlib.decompressobj(wbits)
    try:
        out = decoder.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise InvalidJSON(f"The request body is not valid {encoding} data.") from exc
    if len(out) > limit or decoder.unconsumed_tail:
        raise _too_large(limit)
    if not decoder.eof or decoder.unused_data:
        raise InvalidJSON(f"The request body is not complete, valid {encoding} data.")
    return out


def parse_json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or ``invalid_json``."""
    if not body.strip():
        raise InvalidJSON("The request body is empty; send a JSON object.")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidJSON(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise InvalidJSON("The request body must be a JSON object.")
    return data


async def read_json(
    headers: Headers, receive: Receive, limit: int, timeout: float
) -> dict[str, Any]:
    """Check, read, decode and parse a JSON object body."""
    check_media_type(headers)
    raw = await read_body(headers, receive, limit, timeout)
    body = decode_body(raw, headers.get("content-encoding", "identity"), limit)
    return parse_json_object(body)
