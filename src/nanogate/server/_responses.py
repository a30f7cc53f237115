"""Response builders: JSON with orjson, and errors through the renderers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

from nanogate.core import Surface, error_headers, render_error
from nanogate.errors import GatewayError


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
