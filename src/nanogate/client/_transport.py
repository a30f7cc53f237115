"""httpx at the edge: its failures mapped to the client's errors, answers to results.

Every httpx failure passes through :func:`mapped_transport_errors` (one table, most
specific first, ``raise ... from exc``); every answer through :func:`result`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import httpx

from nanogate.client._call import Response
from nanogate.client._dialects import INVALID_DATA, TRUNCATED, Dialect, stream_failure
from nanogate.client._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APITimeoutError,
)
from nanogate.client._parse import lower_headers, parse_error
from nanogate.core import SSEDecoder

_TRANSPORT_ERRORS: Final[tuple[tuple[type[Exception], type[APIConnectionError]], ...]] = (
    (httpx.TimeoutException, APITimeoutError),
    (httpx.TransportError, APIConnectionError),
)


@contextmanager
def mapped_transport_errors() -> Iterator[None]:
    """Raise httpx transport failures as :class:`APIConnectionError` (or its timeout)."""
    try:
        yield
    except httpx.TransportError as exc:
        for source, target in _TRANSPORT_ERRORS:
            if isinstance(exc, source):
                detail = str(exc) or type(exc).__name__
                raise target(f"{target.__name__.removeprefix('API')}: {detail}") from exc
        raise  # pragma: no cover - the table ends with the base class


def result(status: int, headers: httpx.Headers, content: bytes) -> Response:
    """The :class:`Response` of a JSON answer; raises the typed error of a failure."""
    lowered = lower_headers(headers)
    if not 200 <= status < 300:
        raise parse_error(status, lowered, content)
    request_id = lowered.get("x-request-id") or lowered.get("request-id")
    try:
        data = json.loads(content) if content.strip() else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise APIResponseValidationError(
            "The answer is not a JSON object.",
            status=status,
            request_id=request_id,
            body=content.decode("utf-8", errors="replace"),
            headers=lowered,
        )
    return Response(data, request_id=request_id, status=status, headers=lowered)


def _items(
    decoder: SSEDecoder, chunk: bytes, dialect: Dialect, headers: Mapping[str, str]
) -> Iterator[dict[str, Any]]:
    """The items ``chunk`` (``b""`` at the end) completes, one event at a time so an
    error frame never hides the items before it."""
    events = iter(decoder.feed(chunk) if chunk else decoder.flush())
    while True:
        try:
            event = next(events)
        except StopIteration:
            return
        except ValueError as exc:  # a line over the decoder's limit
            raise stream_failure(headers, INVALID_DATA, str(exc), retryable=False) from exc
        item = dialect.event(event)
        if item is not None:
            yield item


def _cut(headers: Mapping[str, str], exc: httpx.TransportError) -> Exception:
    message = f"The stream was cut: {exc or type(exc).__name__}"
    return stream_failure(headers, TRUNCATED, message, retryable=True)


def iter_items(response: httpx.Response, dialect: Dialect) -> Generator[dict[str, Any], None, None]:
    """The items of a streaming answer, raising StreamError on failure or truncation."""
    headers = lower_headers(response.headers)
    decoder = SSEDecoder()
    try:
        for chunk in response.iter_bytes():
            yield from _items(decoder, chunk, dialect, headers)
    except httpx.TransportError as exc:
        raise _cut(headers, exc) from exc
    yield from _items(decoder, b"", dialect, headers)
    dialect.end()


async def aiter_items(
    response: httpx.Response, dialect: Dialect
) -> AsyncGenerator[dict[str, Any], None]:
    """:func:`iter_items` for an async answer."""
    headers = lower_headers(response.headers)
    decoder = SSEDecoder()
    try:
        async for chunk in response.aiter_bytes():
            for item in _items(decoder, chunk, dialect, headers):
                yield item
    except httpx.TransportError as exc:
        raise _cut(headers, exc) from exc
    for item in _items(decoder, b"", dialect, headers):
        yield item
    dialect.end()
