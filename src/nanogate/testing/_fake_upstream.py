"""A fake upstream speaking OpenAI's and Anthropic's dialects, with fault injection, for
tests and benchmarks.

It answers, with fixed and cheap replies:

- ``POST /v1/chat/completions`` (OpenAI; plain and streaming),
- ``POST /v1/embeddings`` (OpenAI),
- ``POST /v1/moderations`` (OpenAI; an input is flagged under ``harassment`` when it
  contains one of :attr:`FakeUpstream.flag_words`),
- ``POST /v1/messages`` (Anthropic; plain and streaming, with realistic events and a
  partly cached prompt in its usage).

Chat answers are :attr:`FakeUpstream.reply`; when the request offers tools, the answer
also calls the first one with :attr:`FakeUpstream.tool_arguments`, unless the request
ends with a tool's result (the model then answers in words, as a tool loop expects). An
answer with tool calls finishes with :attr:`FakeUpstream.tool_finish`. Faults queued with
:meth:`FakeUpstream.inject` apply to the next requests, one fault per request, on any
route, rendered in that route's dialect (see :class:`~nanogate.testing.Fault`).

Served with :class:`~nanogate.testing.ServedAioHTTP`, it is a real HTTP server on
loopback, so the gateway's connection pool, parser and timeouts are exercised.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from nanogate.testing import _anthropic_wire, _openai_wire
from nanogate.testing._faults import Fault
from nanogate.testing._moderation import moderation, texts_of
from nanogate.testing._reply import Finish, Reply, ToolCall, pieces_of


@dataclass(frozen=True, slots=True)
class _Wire:
    """How a dialect renders failures: an error body, an in-band stream error."""

    error_body: Callable[[int, str, str | None], bytes]
    error_event: Callable[[int, str], bytes]


_OPENAI = _Wire(_openai_wire.error_body, _openai_wire.error_event)
_ANTHROPIC = _Wire(_anthropic_wire.error_body, _anthropic_wire.error_event)


@dataclass(frozen=True, slots=True)
class _Answer:
    """A successful answer: a whole JSON body, or the events of a stream."""

    body: bytes = b""
    events: list[bytes] | None = None


@dataclass
class FakeUpstream:
    """The fake's behaviour and what it has seen."""

    reply: str = "Hello from the upstream."
    tokens_per_chunk: int = 1
    """Words per streamed text event."""
    tool_arguments: dict[str, Any] = field(default_factory=lambda: {"city": "Paris"})
    tool_finish: Finish = "tool_calls"
    """How an answer with tool calls finishes (chat terms): ``"stop"`` is what OpenAI and
    vLLM report for a forced call, and LiteLLM's proxy streams on."""
    flag_words: tuple[str, ...] = ("forbidden",)
    faults: deque[Fault] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)
    """Each request seen (``path``, ``headers``, ``body``), unless ``record`` is off."""
    record: bool = True
    report_output_tokens: int | None = None
    """Report this many output tokens whatever the request allowed (an upstream that
    ignores ``max_tokens``); ``None`` reports what was produced."""

    def inject(self, *faults: Fault) -> None:
        """Queue faults for the next requests, one each."""
        self.faults.extend(faults)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/moderations", self._moderations)
        app.router.add_post("/v1/messages", self._messages)
        return app

    # Routes ----------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body, fault = await self._take(request)
        tools = [t["function"]["name"] for t in body.get("tools") or ()]
        if _ends_with(body, lambda m: m.get("role") == "tool"):
            tools = []
        reply = self._reply(body, fault, tools, "call_fake_")
        created = int(time.time())
        if body.get("stream"):
            answer = _Answer(events=_openai_wire.completion_events(reply, created))
        else:
            answer = _Answer(_openai_wire.completion(reply, created))
        return await _deliver(request, _OPENAI, fault, answer)

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        body, fault = await self._take(request)
        tools = [t["name"] for t in body.get("tools") or ()]
        if _ends_with(body, _has_tool_result):
            tools = []
        reply = self._reply(body, fault, tools, "toolu_fake_")
        if body.get("stream"):
            answer = _Answer(events=_anthropic_wire.message_events(reply))
        else:
            answer = _Answer(_anthropic_wire.message(reply))
        return await _deliver(request, _ANTHROPIC, fault, answer)

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        body, fault = await self._take(request)
        given = body["input"]
        single = not isinstance(given, list) or all(isinstance(item, int) for item in given)
        count = 0 if _empties(fault) else 1 if single else len(given)
        dimensions = int(body.get("dimensions") or 8)
        answer = _Answer(_openai_wire.embeddings(body.get("model") or "", count, dimensions))
        return await _deliver(request, _OPENAI, fault, answer)

    async def _moderations(self, request: web.Request) -> web.StreamResponse:
        body, fault = await self._take(request)
        model = body.get("model") or "omni-moderation-latest"
        texts = texts_of(body.get("input"))
        answer = _Answer(moderation(model, texts, self.flag_words, _empties(fault)))
        return await _deliver(request, _OPENAI, fault, answer)

    # Helpers ---------------------------------------------------------------------------

    async def _take(self, request: web.Request) -> tuple[dict[str, Any], Fault | None]:
        """The request's body (recorded) and the fault it meets, if any."""
        body = orjson.loads(await request.read())
        if self.record:
            self.requests.append(
                {"path": request.path, "headers": dict(request.headers), "body": body}
            )
        return body, self.faults.popleft() if self.faults else None

    def _reply(
        self, body: dict[str, Any], fault: Fault | None, tools: list[str], call_prefix: str
    ) -> Reply:
        model = str(body.get("model") or "fake")
        if _empties(fault):
            refused = fault is not None and fault.kind == "refusal"
            return Reply(model, (), (), "content_filter" if refused else "stop", 10, 0)
        calls: tuple[ToolCall, ...] = ()
        if tools:
            arguments = orjson.dumps(self.tool_arguments).decode()
            calls = (ToolCall(call_prefix + "0", tools[0], arguments),)
        words = len(self.reply.split(" "))
        pieces = pieces_of(self.reply, self.tokens_per_chunk)
        finish: Finish = self.tool_finish if calls else "stop"
        produced = words + 4 * len(calls)
        reported = produced if self.report_output_tokens is None else self.report_output_tokens
        return Reply(model, pieces, calls, finish, 10, reported)


def _ends_with(body: dict[str, Any], test: Callable[[dict[str, Any]], bool]) -> bool:
    """Whether the request's last message passes ``test``."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return False
    return isinstance(messages[-1], dict) and test(messages[-1])


def _has_tool_result(message: dict[str, Any]) -> bool:
    """An Anthropic user turn carrying a ``tool_result`` block."""
    content = message.get("content")
    return isinstance(content, list) and any(
        isinstance(block, dict) and block.get("type") == "tool_result" for block in content
    )


def _empties(fault: Fault | None) -> bool:
    return fault is not None and fault.kind in ("empty", "refusal")


# Delivery: an answer, as the fault (if any) bends it ------------------------------------

_STOPS_STREAM = frozenset({"cut", "truncate", "event", "error_event", "oversized"})


async def _deliver(
    request: web.Request, wire: _Wire, fault: Fault | None, answer: _Answer
) -> web.StreamResponse:
    kind = fault.kind if fault is not None else ""
    if fault is not None and kind == "delay":
        await asyncio.sleep(fault.seconds)
    if fault is not None and (
        kind == "status" or (kind == "error_event" and answer.events is None)
    ):
        headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
        return web.Response(
            status=fault.status,
            body=wire.error_body(fault.status, fault.message, fault.code),
            headers=headers,
            content_type="application/json",
        )
    if kind == "reset":
        _abort(request)
        return web.Response(status=500)
    if answer.events is None:
        return await _whole(request, fault, answer.body)
    return await _stream(request, wire, fault, answer.events)


async def _whole(request: web.Request, fault: Fault | None, body: bytes) -> web.StreamResponse:
    """A whole JSON answer, bent by ``fault``."""
    kind = fault.kind if fault is not None else ""
    if fault is not None and kind == "malformed":
        body = b"{not json"
    elif fault is not None and kind == "event":
        body = fault.data
    elif fault is not None and kind == "oversized":
        body = b'{"padding":"' + b"x" * fault.size + b'",' + body[1:]
    half = len(body) // 2
    if kind == "truncate":
        body = body[:half]
    if fault is None or kind not in ("cut", "drip"):
        return web.Response(body=body, content_type="application/json")
    response = web.StreamResponse(headers={"content-type": "application/json"})
    response.content_length = len(body)
    await response.prepare(request)
    if kind == "cut":
        await response.write(body[:half])
        _abort(request)
        return response
    quarter = max(1, len(body) // 4)
    for start in range(0, len(body), quarter):
        if start:
            await asyncio.sleep(fault.seconds)
        await response.write(body[start : start + quarter])
    await response.write_eof()
    return response


async def _stream(
    request: web.Request, wire: _Wire, fault: Fault | None, events: list[bytes]
) -> web.StreamResponse:
    """A streamed answer's events, bent by ``fault``."""
    kind = fault.kind if fault is not None else ""
    if kind == "malformed":
        events = [b"data: {not json\n\n"]
    stop = len(events)
    if fault is not None and kind in _STOPS_STREAM:
        stop = fault.after if fault.after >= 0 else max(0, len(events) + fault.after)
    response = web.StreamResponse(
        headers={"content-type": "text/event-stream", "cache-control": "no-cache"}
    )
    await response.prepare(request)
    try:
        for index, event in enumerate(events[:stop]):
            if fault is not None and kind == "drip" and index:
                await asyncio.sleep(fault.seconds)
            await response.write(event)
        if fault is not None:
            if kind == "cut":
                _abort(request)
                return response
            if kind == "event":
                await response.write(b"data: " + fault.data + b"\n\n")
            elif kind == "error_event":
                await response.write(wire.error_event(fault.status, fault.message))
            elif kind == "oversized":
                await response.write(b"data: " + b"x" * fault.size + b"\n\n")
                for event in events[stop:]:
                    await response.write(event)
        await response.write_eof()
    except ConnectionError:
        pass  # the client went away (as a gateway does after an oversized line)
    return response


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
