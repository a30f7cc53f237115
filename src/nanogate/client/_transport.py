"""httpx at the edge: its failures mapped to the client's errors, answers to results.

Every httpx failure passes through :func:`mapped_transport_errors` (one table, most
specific first, ``raise ... from exc``); every answer through :func:`result`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final, NoReturn

import httpx

from nanogate.client._call import Response
from nanogate.client._dialects import INVALID_DATA, TRUNCATED, Dialect, stream_failure
from nanogate.client._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APITimeoutError,
)
from nanogate.client._parse import lower_headers, parse_error
from nanogate.core import SSEDecoder

_TRANSPORT_ERRORS: Final[tuple[tuple[type[Exception], type[APIError], bool], ...]] = (
    (httpx.TimeoutException, APITimeoutError, True),
    (httpx.UnsupportedProtocol, APIConnectionError, False),  # a base URL without a scheme
    (httpx.TransportError, APIConnectionError, True),
    (httpx.DecodingError, APIResponseValidationError, False),  # a corrupt compressed body
    (httpx.RequestError, APIConnectionError, False),  # too many redirects...
)
"""httpx failure → client error and whether retrying can help; most specific first."""


@contextmanager
def mapped_transport_errors() -> Iterator[None]:
    """Raise httpx request failures as the client's errors, through one table."""
    try:
        yield
    except httpx.RequestError as exc:
        for source, target, retryable in _TRANSPORT_ERRORS:
            if isinstance(exc, source):
                detail = str(exc) or type(exc).__name__
                message = f"{target.__name__.removeprefix('API')}: {detail}"
                raise target(message, retryable=retryable) from exc
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


def _cut(headers: Mapping[str, str], exc: httpx.RequestError) -> Exception:
    message = f"The stream was cut: {exc or type(exc).__name__}"
    retryable = isinstance(exc, httpx.TransportError)
    return stream_failure(headers, TRUNCATED, message, retryable=retryable)


def iter_items(response: httpx.Response, dialect: Dialect) -> Generator[dict[str, Any], None, None]:
    """The items of a streaming answer, raising StreamError on failure or truncation.
    Reading stops at the terminal event: what follows it (or a connection held open
    after it) cannot turn a finished answer into a failure."""
    headers = lower_headers(response.headers)
    decoder = SSEDecoder()
    try:
        for chunk in response.iter_bytes():
            yield from _items(decoder, chunk, dialect, headers)
            if dialect.finished:
                return
    except httpx.RequestError as exc:
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
            if dialect.finished:
                return
    except httpx.RequestError as exc:
        raise _cut(headers, exc) from exc
    for item in _items(decoder, b"", dialect, headers):
        yield item
    dialect.end()


def is_event_stream(response: httpx.Response) -> bool:
    """Whether a successful answer is an event stream (one that names no content type
    is given the benefit of the doubt)."""
    content_type: str = response.headers.get("content-type", "")
    return not content_type or content_type.startswith("text/event-stream")


def refuse_non_stream(response: httpx.Response) -> NoReturn:
    """The error for a successful, already read answer to a streaming request that is not
    an event stream (the server ignored ``stream``, or sent its error as a 200): the error
    it carries, or a non-retryable validation error, never a truncation to retry."""
    lowered = lower_headers(response.headers)
    data = result(response.status_code, response.headers, response.content)
    if "error" in data:
        status = data.get("status")
        status = status if isinstance(status, int) and status >= 400 else 500
        raise parse_error(status, lowered, dict(data))
    content_type = lowered.get("content-type") or "non-stream"
    raise APIResponseValidationError(
        f"A streaming request got a {content_type} answer, not an event stream.",
        status=response.status_code,
        request_id=data.request_id,
        body=dict(data),
        headers=lowered,
    )
