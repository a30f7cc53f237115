"""A fake OpenAI-compatible upstream with fault injection, for tests and benchmarks.

It answers ``POST /v1/chat/completions`` (plain and streaming) and
``POST /v1/embeddings`` with fixed, cheap replies. Faults queued with
:meth:`FakeUpstream.inject` apply to the next requests, one fault per request:

- ``Fault.status_error(503, retry_after=2)``: an HTTP error with an OpenAI error body;
- ``Fault.delay(0.5)``: wait before the first byte;
- ``Fault.reset()``: abort the connection before answering;
- ``Fault.cut(after=2)``: stream ``after`` chunks, then abort the connection;
- ``Fault.truncate(after=2)``: stream ``after`` chunks, then end cleanly without
  a final chunk or ``[DONE]``;
- ``Fault.malformed()``: a 200 whose body is not JSON;
- ``Fault.event(after=2, data=b'{"error": "boom"}')``: stream ``after`` chunks, then
  one raw ``data:`` line (an error frame, an oversized line...), then end.

Served with :class:`~nanogate.testing.ServedAioHTTP`, it is a real HTTP server on
loopback, so the gateway's connection pool, parser and timeouts are exercised.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str
    status: int = 0
    seconds: float = 0.0
    after: int = 0
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def status_error(
        cls,
        status: int,
        *,
        retry_after: int | None = None,
        message: str = "upstream failure",
        code: str | None = None,
    ) -> Fault:
        headers = (("retry-after", str(retry_after)),) if retry_after is not None else ()
        body = orjson.dumps(
            {"error": {"message": message, "type": "upstream_error", "code": code, "param": None}}
        )
        return cls("status", status=status, headers=headers, body=body)

    @classmethod
    def delay(cls, seconds: float) -> Fault:
        return cls("delay", seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        return cls("reset")

    @classmethod
    def cut(cls, after: int) -> Fault:
        return cls("cut", after=after)

    @classmethod
    def truncate(cls, after: int) -> Fault:
        return cls("truncate", after=after)

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @classmethod
    def event(cls, after: int, data: bytes) -> Fault:
        return cls("event", after=after, body=data)


@dataclass
class FakeUpstream:
    """The fake's behaviour and what it has seen."""

    reply: str = "Hello from the upstream."
    tokens_per_chunk: int = 1
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    record: bool = True

    def inject(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        return app

    async def _fault(self, request: web.Request) -> tuple[Fault | None, web.StreamResponse | None]:
        fault = self.faults.popleft() if self.faults else None
        if fault is None:
            return None, None
        if fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            return None, None
        if fault.kind == "status":
            return fault, web.Response(
                status=fault.status,
                body=fault.body,
                headers=dict(fault.headers),
                content_type="application/json",
            )
        if fault.kind == "reset":
            _abort(request)
            return fault, web.Response(status=500)
        if fault.kind == "malformed":
            return fault, web.Response(body=b"{not json", content_type="application/json")
        return fault, None

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        if self.record:
            self.requests.append(
                {"path": request.path, "headers": dict(request.headers), "body": body}
            )
        fault, answer = await self._fault(request)
        if answer is not None:
            return answer
        words = self.reply.split(" ")
        pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
        usage = {
            "prompt_tokens": 10,
            "completion_tokens": len(pieces),
            "total_tokens": 10 + len(pieces),
        }
        created = int(time.time())
        model = body.get("model", "fake")
        if not body.get("stream"):
            return web.Response(
                body=orjson.dumps(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": self.reply},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": usage,
                    }
                ),
                content_type="application/json",
            )
        return await self._stream(request, fault, pieces, usage, model, created)

    async def _stream(
        self,
        request: web.Request,
        fault: Fault | None,
        pieces: list[str],
        usage: dict[str, int],
        model: str,
        created: int,
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
            data = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return b"data: " + orjson.dumps(data) + b"\n\n"

        frames = [chunk({"role": "assistant", "content": ""})]
        frames += [chunk({"content": piece}) for piece in pieces]
        frames.append(chunk({}, "stop"))
        frames.append(
            b"data: "
            + orjson.dumps(
                {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [],
                    "usage": usage,
                }
            )
            + b"\n\n"
        )
        frames.append(b"data: [DONE]\n\n")
        for index, frame in enumerate(frames):
            if fault is not None and fault.kind in ("cut", "truncate", "event"):
                if index == fault.after:
                    if fault.kind == "cut":
                        _abort(request)
                        return response
                    if fault.kind == "event":
                        await response.write(b"data: " + fault.body + b"\n\n")
                    await response.write_eof()
                    return response
            await response.write(frame)
        await response.write_eof()
        return response

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body = orjson.loads(await request.read())
        if self.record:
            self.requests.append(
                {"path": request.path, "headers": dict(request.headers), "body": body}
            )
        fault, answer = await self._fault(request)
        if answer is not None:
            return answer
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dimensions = int(body.get("dimensions") or 8)
        data = [
            {"object": "embedding", "index": i, "embedding": [0.125] * dimensions}
            for i in range(len(inputs))
        ]
        return web.Response(
            body=orjson.dumps(
                {
                    "object": "list",
                    "data": data,
                    "model": body.get("model"),
                    "usage": {"prompt_tokens": 4 * len(inputs), "total_tokens": 4 * len(inputs)},
                }
            ),
            content_type="application/json",
        )


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
