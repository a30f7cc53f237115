"""The "direct" target: nanogate's fake OpenAI-compatible upstream in its own process.

``python -m bench.upstream --port P`` serves :class:`nanogate.testing.FakeUpstream`
with aiohttp on uvloop at ``127.0.0.1:P`` until SIGTERM or SIGINT. Requests are not
recorded, so memory stays flat however long the run.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import uvloop
from aiohttp import web

from nanogate.testing import FakeUpstream


async def serve(host: str, port: int) -> None:
    """Serve the fake upstream until the process is asked to stop."""
    app = FakeUpstream(record=False).app()
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
