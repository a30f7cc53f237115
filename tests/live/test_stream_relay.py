"""The streaming relay over real sockets: no buffering, keep-alives, prompt cancellation.

The upstream here is a small aiohttp app whose pace the test controls, served on
loopback like every fake upstream.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from aiohttp import web
from tests.conftest import Live, LiveFactory
from tests.helpers import make_settings, with_provider

from nanogate.config import ProviderSettings
from nanogate.testing import ServedAioHTTP

CHAT = "/api/v1/chat/completions"
BODY = {"model": "drip/chat", "messages": [{"role": "user", "content": "hi"}], "stream": True}


def frame(data: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(data) + b"\n\n"


def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return frame(
        {
            "id": "chatcmpl-drip",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "drip",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


@dataclass
class Drip:
    """An upstream that streams ``words`` one at a time, pausing as told."""

    words: list[str] = field(default_factory=lambda: [f"w{i} " for i in range(6)])
    received: list[threading.Event] = field(default_factory=list)
    """When set, chunk ``i + 1`` is produced only after the client saw chunk ``i``."""
    pause_s: float = 0.0
    silence_after_first_s: float = 0.0
    produced_at: list[float] = field(default_factory=list)
    hold_after_done_s: float = 0.0
    """How long the connection stays open after ``[DONE]``."""
    stalled: bool = False
    gone_at: float | None = None
    """When a write found the gateway's connection closed."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        return app

    async def handle(self, request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"content-type": "text/event-stream"})
        await response.prepare(request)
        try:
            await response.write(chunk({"role": "assistant", "content": ""}))
            for index, word in enumerate(self.words):
                self.produced_at.append(time.monotonic())
                await response.write(chunk({"content": word}))
                if index < len(self.received):
                    seen = await asyncio.to_thread(self.received[index].wait, 5)
                    self.stalled |= not seen
                if index == 0 and self.silence_after_first_s:
                    await asyncio.sleep(self.silence_after_first_s)
                await asyncio.sleep(self.pause_s)
            await response.write(chunk({}, "stop"))
            usage = {"prompt_tokens": 3, "completion_tokens": len(self.words), "total_tokens": 9}
            await response.write(frame({"id": "chatcmpl-drip", "choices": [], "usage": usage}))
            await response.write(b"data: [DONE]\n\n")
            await asyncio.sleep(self.hold_after_done_s)
            await response.write_eof()
        except (ConnectionError, asyncio.CancelledError):
            self.gone_at = time.monotonic()
            raise
        return response


@pytest.fixture
def drip() -> Iterator[tuple[Drip, str]]:
    upstream = Drip()
    with ServedAioHTTP(upstream.app()) as served:
        yield upstream, served.url


def drip_gateway(serve_gateway: LiveFactory, tmp_path: Path, url: str, **server: Any) -> Live:
    settings = with_provider(
        make_settings(tmp_path, **server),
        ProviderSettings(name="drip", kind="openai", base_url=url + "/v1", timeout_s=10),
        [{"id": "drip/chat", "provider": "drip", "capabilities": ["streaming"]}],
    )
    return serve_gateway(settings)


def words_in(event: bytes) -> list[str]:
    """The content deltas in one SSE event of the chat dialect."""
    if not event.startswith(b"data: {"):
        return []
    data = orjson.loads(event[6:])
    return [c["delta"]["content"] for c in data.get("choices", []) if c["delta"].get("content")]


def test_each_chunk_reaches_the_client_before_the_next_is_produced(
    serve_gateway: LiveFactory, tmp_path: Path, drip: tuple[Drip, str]
) -> None:
    """No buffering anywhere on the way: the upstream produces each chunk only after the
    client has received the previous one, and the stream still completes in time."""
    upstream, url = drip
    live = drip_gateway(serve_gateway, tmp_path, url)
    upstream.received = [threading.Event() for _ in upstream.words]
    seen: list[str] = []
    with httpx.stream("POST", live.url + CHAT, json=BODY, headers=live.auth(), timeout=30) as r:
        assert r.status_code == 200
        buffer = b""
        for raw in r.iter_raw():
            buffer += raw
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                for word in words_in(event):
                    seen.append(word)
                    upstream.received[len(seen) - 1].set()
    assert seen == upstream.words
    assert not upstream.stalled, "a chunk waited in a buffer until the next was produced"


def test_silences_are_filled_with_keep_alive_comments(
    serve_gateway: LiveFactory, tmp_path: Path, drip: tuple[Drip, str]
) -> None:
    """While a started stream's upstream is silent, the gateway sends ``: keep-alive``
    comment lines (never data events), and the stream then ends normally."""
    upstream, url = drip
    upstream.silence_after_first_s = 0.7
    live = drip_gateway(serve_gateway, tmp_path, url, sse_keepalive_s=0.2)
    with httpx.stream("POST", live.url + CHAT, json=BODY, headers=live.auth(), timeout=30) as r:
        text = r.read().decode()
    events = text.split("\n\n")
    comments = [e for e in events if e.startswith(":")]
    assert 2 <= len(comments) <= 4 and all(e == ": keep-alive" for e in comments), comments
    first_comment = events.index(comments[0])
    assert any("w0" in e for e in events[:first_comment])
    assert text.rstrip().endswith("data: [DONE]") and '"finish_reason":"error"' not in text


def test_the_openai_sdk_reads_through_keep_alives(
    serve_gateway: LiveFactory, tmp_path: Path, drip: tuple[Drip, str]
) -> None:
    """The stock OpenAI SDK ignores the keep-alive comments and sees the whole answer."""
    import openai

    upstream, url = drip
    upstream.silence_after_first_s = 0.5
    live = drip_gateway(serve_gateway, tmp_path, url, sse_keepalive_s=0.1)
    client = openai.OpenAI(base_url=live.url + "/api/v1", api_key=live.key, max_retries=0)
    stream = client.chat.completions.create(
        model="drip/chat", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text == "".join(upstream.words)


def test_a_client_disconnect_cancels_the_upstream_request_at_once(
    serve_gateway: LiveFactory, tmp_path: Path, drip: tuple[Drip, str]
) -> None:
    """When the client goes away mid-stream, the gateway closes its upstream connection
    right away: the upstream's next write fails well before the stream would end."""
    upstream, url = drip
    upstream.words = [f"w{i} " for i in range(100)]
    upstream.pause_s = 0.05
    live = drip_gateway(serve_gateway, tmp_path, url)
    host, port = live.url.removeprefix("http://").split(":")
    body = orjson.dumps(BODY)
    head = (
        f"POST {CHAT} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"authorization: Bearer {live.key}\r\ncontent-length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head + body)
        received = b""
        while received.count(b'"content":"w') < 3:
            received += sock.recv(65536)
        closed_at = time.monotonic()
    deadline = time.monotonic() + 3
    while upstream.gone_at is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert upstream.gone_at is not None, "the upstream kept streaming to nobody"
    assert upstream.gone_at - closed_at < 0.5
    assert len(upstream.produced_at) < 30


def test_the_answer_ends_when_the_upstream_says_done(
    serve_gateway: LiveFactory, tmp_path: Path, drip: tuple[Drip, str]
) -> None:
    """An upstream that keeps its connection open after ``[DONE]`` does not hold the
    client's answer back: the stream ends at once, priced and complete."""
    upstream, url = drip
    upstream.hold_after_done_s = 3.0
    live = drip_gateway(serve_gateway, tmp_path, url)
    started = time.monotonic()
    with httpx.stream("POST", live.url + CHAT, json=BODY, headers=live.auth(), timeout=30) as r:
        text = r.read().decode()
    assert time.monotonic() - started < 1.5
    assert "x_nanogpt_pricing" in text and text.rstrip().endswith("data: [DONE]")
