"""The apps ``bench.stack`` serves under each server, importable by name.

``passthrough`` is ``bench.passthrough``'s app forwarding to ``$BENCH_UPSTREAM``;
``hello`` answers every request with a fixed chat completion by itself, so that what it
measures is the server alone.
"""

from __future__ import annotations

import os

import orjson
from starlette.types import Receive, Scope, Send

from bench.passthrough import create_app

passthrough = create_app(os.environ.get("BENCH_UPSTREAM", "http://127.0.0.1:9/"))

_HELLO = orjson.dumps(
    {
        "id": "chatcmpl-hello",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10},
    }
)
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(_HELLO)).encode())]


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    """Read the request body, answer the fixed completion."""
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _HELLO})
