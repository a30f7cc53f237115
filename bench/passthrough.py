"""The yardstick: a bare Starlette + aiohttp pass-through, in its own process.

``python -m bench.passthrough --port P --upstream URL`` forwards the body of
``POST /v1/chat/completions`` to ``URL`` over one shared, pooled aiohttp session
and returns the upstream's status and body; a ``text/event-stream`` answer is
relayed chunk by chunk. No parsing, no auth, no logging: it is the least a Python
gateway on this stack can do, served like ``nanogate serve`` (uvicorn, uvloop,
httptools, one worker).
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

JSON_HEADERS = {"content-type": "application/json"}


def create_app(upstream: str) -> Starlette:
    """The pass-through app forwarding chat completions to ``upstream``."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        """One pooled client session for the life of the app."""
        connector = aiohttp.TCPConnector(limit=256, keepalive_timeout=30)
        async with aiohttp.ClientSession(connector=connector) as session:
            app.state.session = session
            yield

    async def chat(request: Request) -> Response:
        """Forward the body; answer with the upstream's status and body."""
        session: aiohttp.ClientSession = request.app.state.session
        body = await request.body()
        answer = await session.post(upstream, data=body, headers=JSON_HEADERS)
        media_type = answer.headers.get("content-type", "application/json")
        if media_type.startswith("text/event-stream"):
            return StreamingResponse(_relay(answer), answer.status, media_type=media_type)
        try:
            payload = await answer.read()
        finally:
            answer.release()
        return Response(payload, answer.status, media_type=media_type)

    routes = [Route("/v1/chat/completions", chat, methods=["POST"])]
    return Starlette(routes=routes, lifespan=lifespan)


async def _relay(answer: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    """The upstream's streamed body, chunk by chunk as it arrives."""
    try:
        async for chunk in answer.content.iter_any():
            yield chunk
    finally:
        answer.release()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the upstream chat completions URL")
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.upstream),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_keep_alive=30,
    )


if __name__ == "__main__":
    main()
