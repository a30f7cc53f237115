"""Streams handed to callers: iterators of items over an open streaming answer.

A stream is created once its first item has arrived (so a failure before the first
event can still be retried) and exposes the answer's ``request_id`` at once. Use it
as a context manager, or iterate it to the end, to release the connection; a
failure raises :class:`~nanogate.client.StreamError` and closes it too.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from types import TracebackType
from typing import Any

import httpx

from nanogate.client._errors import APIError
from nanogate.client._log import log_stream_failure


def _request_id(response: httpx.Response) -> str | None:
    request_id: str | None = response.headers.get("x-request-id")
    return request_id or response.headers.get("request-id")


class Stream(Iterator[dict[str, Any]]):
    """The items of a streaming answer (chunk dicts, or ``{"event", "data"}``)."""

    def __init__(
        self,
        response: httpx.Response,
        items: Generator[dict[str, Any], None, None],
        first: dict[str, Any] | None,
    ) -> None:
        self.response = response
        """The open httpx answer."""
        self.request_id: str | None = _request_id(response)
        """The answer's ``X-Request-ID``, known before the first item is read."""
        self._items = items
        self._first = first

    def __iter__(self) -> Stream:
        return self

    def __next__(self) -> dict[str, Any]:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        try:
            return next(self._items)
        except StopIteration:
            self.close()
            raise
        except APIError as error:
            log_stream_failure(self.response.request.method, self.response.url.path, error)
            self.close()
            raise

    def close(self) -> None:
        """Stop reading and release the connection."""
        self._first = None
        self._items.close()
        self.response.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncStream(AsyncIterator[dict[str, Any]]):
    """The items of a streaming answer, read asynchronously."""

    def __init__(
        self,
        response: httpx.Response,
        items: AsyncGenerator[dict[str, Any], None],
        first: dict[str, Any] | None,
    ) -> None:
        self.response = response
        """The open httpx answer."""
        self.request_id: str | None = _request_id(response)
        """The answer's ``X-Request-ID``, known before the first item is read."""
        self._items = items
        self._first = first

    def __aiter__(self) -> AsyncStream:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if self._first is not None:
            first, self._first = self._first, None
            return first
        try:
            return await anext(self._items)
        except StopAsyncIteration:
            await self.close()
            raise
        except APIError as error:
            log_stream_failure(self.response.request.method, self.response.url.path, error)
            await self.close()
            raise

    async def close(self) -> None:
        """Stop reading and release the connection."""
        self._first = None
        await self._items.aclose()
        await self.response.aclose()

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
