"""The "direct" target: nanogate's fake OpenAI-compatible upstream in its own process.

``python -m bench.upstream --port P`` serves :class:`BenchUpstream` (nanogate's
:class:`~nanogate.testing.FakeUpstream` with one addition) with aiohttp on uvloop at
``127.0.0.1:P`` until SIGTERM or SIGINT. Requests are not recorded, so memory stays
flat however long the run.

The addition is for the relay phase: a request asking for ``max_tokens`` of at least
:data:`~bench._targets.RELAY_TOKENS` is answered with exactly ``max_tokens`` words,
one word per streamed chunk. Every other request gets the fake's usual reply.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from functools import lru_cache
from typing import Any

import uvloop
from aiohttp import web

from bench._targets import RELAY_TOKENS
from nanogate.testing import FakeUpstream, Fault
from nanogate.testing._reply import Reply, pieces_of


@lru_cache(maxsize=8)
def long_pieces(words: int) -> tuple[str, ...]:
    """``words`` words, one per piece (the pieces keep their separating spaces)."""
    return pieces_of(" ".join(["word"] * words), 1)


def long_reply_tokens(body: dict[str, Any]) -> int | None:
    """The words of a long reply, when the request asks for one: its ``max_tokens``."""
    wanted = body.get("max_tokens")
    if isinstance(wanted, int) and not isinstance(wanted, bool) and wanted >= RELAY_TOKENS:
        return wanted
    return None


class BenchUpstream(FakeUpstream):
    """The fake upstream, answering a request for many tokens with that many words."""

    def _reply(
        self, body: dict[str, Any], fault: Fault | None, tools: list[str], call_prefix: str
    ) -> Reply:
        words = long_reply_tokens(body)
        if words is None or fault is not None or tools:
            return super()._reply(body, fault, tools, call_prefix)
        model = str(body.get("model") or "fake")
        return Reply(model, long_pieces(words), (), "stop", 10, words)


async def serve(host: str, port: int) -> None:
    """Serve the fake upstream until the process is asked to stop."""
    app = BenchUpstream(record=False).app()
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=2048)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
