"""How upstream failures become catalogue errors: one table and one context manager.

Transport failures (refused or reset connections, timeouts) and HTTP error
statuses of an upstream map here, most specific first. Messages never carry the
upstream's address or credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
import orjson

from nanogate.errors import (
    ContextLengthExceeded,
    GatewayError,
    InvalidRequest,
    RateLimitExceeded,
    ServiceUnavailable,
    UpstreamTimeout,
)

_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})


def _retry_after(headers: Mapping[str, str]) -> int | None:
    value = headers.get("retry-after", "")
    return int(value) if value.isdigit() else None


def _upstream_error(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return error
    if isinstance(error, str):
        return {"message": error}
    return {}


def _bad_request(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    message = str(error.get("message") or "The model provider rejected the request.")
    if error.get("code") in _CONTEXT_CODES:
        return ContextLengthExceeded(message)
    return InvalidRequest(message, param=error.get("param"))


def _rate_limited(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return RateLimitExceeded(
        "The model provider is rate limiting requests; retry after the Retry-After delay.",
        retry_after=_retry_after(headers) or 1,
    )


def _credentials(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return ServiceUnavailable("The model provider refused the gateway's credentials.")


def _unavailable(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return ServiceUnavailable(
        f"The model provider failed (HTTP {status}).", retry_after=_retry_after(headers)
    )


def _timeout(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return UpstreamTimeout()


StatusRule = Callable[[int, dict[str, Any], Mapping[str, str]], GatewayError]

STATUS_TABLE: tuple[tuple[Callable[[int], bool], StatusRule], ...] = (
    (lambda s: s == 429, _rate_limited),
    (lambda s: s in (401, 403), _credentials),
    (lambda s: s in (408, 504), _timeout),
    (lambda s: s >= 500, _unavailable),
    (lambda s: 400 <= s < 500, _bad_request),
)


def error_for_status(status: int, body: bytes, headers: Mapping[str, str]) -> GatewayError:
    """The catalogue error for an upstream's HTTP error response."""
    error = _upstream_error(body)
    for matches, rule in STATUS_TABLE:
        if matches(status):
            return rule(status, error, headers)
    return _unavailable(status, error, headers)


@contextmanager
def upstream_errors() -> Iterator[None]:
    """Map transport exceptions raised inside the block to catalogue errors."""
    try:
        yield
    except GatewayError:
        raise
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise UpstreamTimeout() from exc
    except (aiohttp.ClientError, ConnectionError, orjson.JSONDecodeError) as exc:
        raise ServiceUnavailable("The model provider could not be reached or failed.") from exc
