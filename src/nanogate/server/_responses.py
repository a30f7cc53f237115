"""Response builders: JSON with orjson, errors through the renderers, SSE streams."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from nanogate.core import Surface, error_headers, render_error
from nanogate.errors import GatewayError

SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(data), status, headers, "application/json")


def error_response(err: GatewayError, surface: Surface) -> Response:
    return Response(
        orjson.dumps(render_error(err, surface)),
        err.status,
        dict(error_headers(err)),
        "application/json",
    )


def sse_response(body: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(body, 200, SSE_HEADERS, "text/event-stream")
