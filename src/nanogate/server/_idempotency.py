"""``Idempotency-Key`` on POST inference: one request runs, its repeats replay its answer.

A request with the header claims the key (for its API key) before it runs. A
repeat with the same body gets the stored answer, with the original request id,
and is not charged again; a different body, or a repeat while the first still
runs, is ``idempotency_conflict``. Only successful answers are kept: when a
request fails, its key is given up so that a retry can run.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nanogate.billing import Replay
from nanogate.errors import InvalidParameterValue
from nanogate.server._context import RequestContext

MAX_STORED = 8 * 1024 * 1024
"""Answers larger than this are not kept; a repeat then runs the request again."""

_NOT_REPLAYED = frozenset({b"x-request-id", b"request-id", b"content-length"})


def request_digest(ctx: RequestContext, body: dict[str, Any]) -> str:
    """The request's identity: method, path and body (key order does not matter)."""
    canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    path = f"{ctx.scope['method']} {ctx.scope['path']}\n".encode()
    return hashlib.sha256(path + canonical).hexdigest()


async def idempotent(
    ctx: RequestContext, body: dict[str, Any], run: Callable[[], Awaitable[ASGIApp]]
) -> ASGIApp:
    """Run the request once per ``Idempotency-Key``; replay its answer to repeats."""
    idem = ctx.headers.get("idempotency-key")
    if idem is None or ctx.key is None:
        return await run()
    if not 1 <= len(idem) <= 255:
        raise InvalidParameterValue(
            "Idempotency-Key must be 1 to 255 characters.", param="Idempotency-Key"
        )
    ledger, key_id = ctx.state.ledger, ctx.key.id
    replay = await ledger.claim(key_id, idem, request_digest(ctx, body), ctx.request_id)
    if replay is not None:
        ctx.request_id = replay.request_id
        ctx.logged = False
        return _replayed(replay)

    async def keep(status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        await ledger.finish(key_id, idem, ctx.request_id, status, headers, body)

    async def give_up() -> None:
        await asyncio.shield(ledger.forget(key_id, idem, ctx.request_id))

    try:
        app = await run()
    except BaseException:
        await give_up()
        raise
    return _Recorded(app, keep, give_up, lambda: ctx.record.code is None)


def _replayed(replay: Replay) -> ASGIApp:
    async def send_replay(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in replay.headers]
        headers.append((b"content-length", str(len(replay.body)).encode()))
        await send({"type": "http.response.start", "status": replay.status, "headers": headers})
        await send({"type": "http.response.body", "body": replay.body})

    return send_replay


class _Recorded:
    """Sends the answer and keeps a copy; a complete, successful answer is stored
    before its last byte goes out (so a repeat right after finds it), anything else
    (an error, a stream that failed after its first byte, a disconnect) gives the
    key up."""

    def __init__(
        self,
        app: ASGIApp,
        keep: Callable[[int, list[tuple[str, str]], bytes], Awaitable[None]],
        give_up: Callable[[], Awaitable[None]],
        succeeded: Callable[[], bool],
    ) -> None:
        self.app = app
        self.keep = keep
        self.give_up = give_up
        self.succeeded = succeeded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 0
        headers: list[tuple[str, str]] = []
        parts: list[bytes] = []
        size = 0
        kept = False

        async def record(message: Message) -> None:
            nonlocal status, size, kept
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.extend(
                    (k.decode("latin-1"), v.decode("latin-1"))
                    for k, v in message.get("headers", ())
                    if k.lower() not in _NOT_REPLAYED
                )
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                size += len(chunk)
                if size <= MAX_STORED:
                    parts.append(chunk)
                last = not message.get("more_body", False)
                if last and 200 <= status < 300 and size <= MAX_STORED and self.succeeded():
                    await self.keep(status, headers, b"".join(parts))
                    kept = True
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            if not kept:
                await self.give_up()
