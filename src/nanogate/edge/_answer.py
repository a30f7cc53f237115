"""The raw bytes of an answer given at the edge, before any app runs."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus

import orjson

from nanogate.core import error_headers, render_error
from nanogate.errors import GatewayError


def edge_response(
    err: GatewayError, request_id: str, default_headers: Iterable[tuple[bytes, bytes]] = ()
) -> bytes:
    """The HTTP/1.1 response answering ``err``: the server's ``default_headers`` (Date),
    the OpenAI envelope, the error's headers, ``X-Request-ID`` (and ``request-id``, which
    the Anthropic SDK reads) and ``Connection: close``.

    The request's route is not known at the edge, so neither is its surface: the
    answer is the OpenAI envelope on every surface.
    """
    body = orjson.dumps(render_error(err, "openai"))
    headers = [
        *default_headers,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        (b"request-id", request_id.encode()),  # the Anthropic SDK's name for it
        *((name.encode(), value.encode()) for name, value in error_headers(err)),
        (b"connection", b"close"),
    ]
    status = f"HTTP/1.1 {err.status} {HTTPStatus(err.status).phrase}\r\n".encode()
    lines = [status, *(name + b": " + value + b"\r\n" for name, value in headers), b"\r\n"]
    return b"".join(lines) + body
