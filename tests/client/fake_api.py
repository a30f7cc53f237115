"""A scripted API for client tests: httpx.MockTransport answering from a list.

Each entry is an ``httpx.Response``, an exception to raise (a connection failure),
or a callable taking the request. Every request is recorded.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx

from nanogate.client import AsyncClient, Client, RetryPolicy

BASE_URL = "http://api.test/api/v1"
Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeAPI:
    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.answers:
            raise AssertionError(f"unexpected request {request.method} {request.url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    def json(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)

    def client(self, retry: RetryPolicy | None = None, **options: Any) -> Client:
        http = httpx.Client(transport=httpx.MockTransport(self))
        options.setdefault("api_key", "sk-nano-secret")
        return Client(BASE_URL, retry=retry or RetryPolicy.for_tests(), http_client=http, **options)

    def async_client(self, retry: RetryPolicy | None = None, **options: Any) -> AsyncClient:
        http = httpx.AsyncClient(transport=httpx.MockTransport(self))
        options.setdefault("api_key", "sk-nano-secret")
        return AsyncClient(
            BASE_URL, retry=retry or RetryPolicy.for_tests(), http_client=http, **options
        )


def error(status: int, body: Any = None, **headers: str) -> httpx.Response:
    """An error answer with a JSON body and the given headers (``_`` for ``-``)."""
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return httpx.Response(status, json=body, headers=named)


def ok(body: dict[str, Any] | None = None, request_id: str = "req_ok") -> httpx.Response:
    return httpx.Response(200, json=body or {"ok": True}, headers={"x-request-id": request_id})


def sse(*frames: str | tuple[str, Any], request_id: str = "req_stream") -> httpx.Response:
    """A streaming answer: each frame is raw data text, or (event name, JSON data)."""
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", "x-request-id": request_id},
        content=sse_bytes(*frames),
    )


def sse_bytes(*frames: str | tuple[str, Any]) -> bytes:
    out = []
    for frame in frames:
        if isinstance(frame, tuple):
            name, data = frame
            out.append(f"event: {name}\ndata: {json.dumps(data)}\n\n")
        else:
            out.append(f"data: {frame}\n\n")
    return "".join(out).encode()


class CutStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A body that sends ``data`` and then fails as a reset connection would."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        yield self.data
        raise httpx.ReadError("connection reset")

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.data
        raise httpx.ReadError("connection reset")


def cut(data: bytes, request_id: str = "req_cut") -> httpx.Response:
    return httpx.Response(
        200,
        headers={"content-type": "text/event-stream", "x-request-id": request_id},
        stream=CutStream(data),
    )
