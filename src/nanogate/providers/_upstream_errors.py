"""How upstream failures become catalogue errors: one table and one context manager.

Transport failures (refused or reset connections, timeouts, malformed answers)
and HTTP error statuses of an upstream map here, most specific first, always to
a code of the catalogue. An upstream's own message is passed on only where it
helps the client fix its request, and only with credentials, URLs and network
addresses removed; the gateway's log keeps the original.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import aiohttp
import orjson

from nanogate.core import redact
from nanogate.errors import (
    ContextLengthExceeded,
    GatewayError,
    InvalidParameterValue,
    ModelNotAvailable,
    RateLimitExceeded,
    RequestTooLarge,
    ServiceUnavailable,
    UpstreamTimeout,
)

log = logging.getLogger("nanogate.upstream")

_CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_ADDRESSES = re.compile(
    r"\b[a-z][a-z0-9+.-]*://\S+"  # URLs
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"  # IPv4, with a port
    r"|\[[0-9a-fA-F:]+\](?::\d+)?"  # bracketed IPv6
    r"|\blocalhost(?::\d+)?\b"
)


def _safe(message: str) -> str:
    """An upstream message fit for the client: no credentials, URLs or addresses."""
    return _ADDRESSES.sub("[upstream]", redact(message)).strip()


def _retry_after(headers: Mapping[str, str]) -> int | None:
    value = headers.get("retry-after", "")
    return int(value) if value.isdigit() else None


def _upstream_error(body: bytes) -> dict[str, Any]:
    """The error object of an upstream's body (OpenAI shape, or a bare string)."""
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


Rule = Callable[[int, dict[str, Any], Mapping[str, str]], GatewayError]


def _bad_request(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    message = _safe(str(error.get("message") or "")) or "no reason given"
    if error.get("code") in _CONTEXT_CODES:
        return ContextLengthExceeded(f"The model provider says: {message}")
    param = error.get("param")
    return InvalidParameterValue(
        f"The model provider rejected the request: {message}",
        param=param if isinstance(param, str) else None,
    )


def _not_found(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return ModelNotAvailable("The model's deployment was not found at its provider.")


def _too_large(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return RequestTooLarge("The model provider refused the request as too large.")


def _rate_limited(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return RateLimitExceeded(
        "The model provider is rate limiting requests; retry after the Retry-After delay.",
        retry_after=_retry_after(headers) or 1,
    )


def _credentials(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return ServiceUnavailable("The model provider refused the gateway's credentials.")


def _timeout(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return UpstreamTimeout()


def _unavailable(status: int, error: dict[str, Any], headers: Mapping[str, str]) -> GatewayError:
    return ServiceUnavailable(
        f"The model provider failed (HTTP {status}).", retry_after=_retry_after(headers)
    )


STATUS_TABLE: tuple[tuple[Callable[[int], bool], Rule], ...] = (
    (lambda s: s == 429, _rate_limited),
    (lambda s: s in (401, 403), _credentials),
    (lambda s: s in (408, 504), _timeout),
    (lambda s: s == 404, _not_found),
    (lambda s: s == 413, _too_large),
    (lambda s: s in (400, 422), _bad_request),
    (lambda s: True, _unavailable),
)
"""Upstream status → catalogue error, first match wins. Other 4xx are the gateway's
or the operator's problem, not the client's, so they fall through to a 503."""


def error_for_status(status: int, body: bytes, headers: Mapping[str, str]) -> GatewayError:
    """The catalogue error for an upstream's HTTP error response."""
    error = _upstream_error(body)
    if error.get("message"):
        log.info("upstream answered %s: %s", status, redact(str(error["message"]))[:500])
    for matches, rule in STATUS_TABLE:
        if matches(status):
            return rule(status, error, headers)
    raise AssertionError("the last rule matches every status")


def error_for_event(data: dict[str, Any]) -> GatewayError:
    """The catalogue error for an error frame inside an upstream's stream."""
    error = data.get("error")
    status = error.get("status") if isinstance(error, dict) else None
    return error_for_status(
        status if isinstance(status, int) and status >= 400 else 503, orjson.dumps(data), {}
    )


def stream_ended_early() -> ServiceUnavailable:
    """The error for an upstream stream that stopped without its final event."""
    return ServiceUnavailable("The model provider's stream ended before the response was complete.")


def malformed_answer() -> ServiceUnavailable:
    """The error for an upstream answer that is not the JSON object it should be."""
    return ServiceUnavailable("The model provider sent a malformed answer.")


@contextmanager
def upstream_errors() -> Iterator[None]:
    """Map transport exceptions and malformed data raised inside the block to catalogue
    errors; the original is chained and logged."""
    try:
        yield
    except GatewayError:
        raise
    except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
        raise UpstreamTimeout() from exc
    except (aiohttp.ClientError, ConnectionError) as exc:
        log.info("upstream connection failed: %s", type(exc).__name__)
        raise ServiceUnavailable("The model provider could not be reached or failed.") from exc
    except ValueError as exc:  # undecodable JSON, an oversized SSE line
        log.info("upstream sent malformed data: %s", exc)
        raise malformed_answer() from exc
