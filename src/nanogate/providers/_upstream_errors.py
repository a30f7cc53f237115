"""How upstream failures become catalogue errors: one table and one context manager.

Transport failures (refused or reset connections, timeouts, malformed answers)
and HTTP error statuses of an upstream map here, most specific first, always to
a code of the catalogue. Both upstream dialects (OpenAI-compatible and Anthropic)
go through the same table; what differs between them (how a provider words a
context-length or content-filter refusal) lives in :data:`QUIRKS`, one table per
dialect. An upstream's own message is passed on only where it helps the client
fix its request, and only with credentials, URLs and network addresses removed;
the gateway's log keeps the original, with credentials removed. Credentials are
removed by shape and by value: the caller passes the :class:`~nanogate.core.Secrets`
the request was sent with (the operator's credential, or the caller's own), so an
upstream that echoes one ("Invalid token opcred-...") repeats it nowhere.

With BYOK the upstream credential is the client's own, so ``byok=True`` turns a
refused credential into 401 ``invalid_api_key`` naming "your API key" instead of
the operator's 503.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from nanogate.core import Secrets, redact
from nanogate.errors import (
    ContentPolicyViolation,
    ContextLengthExceeded,
    GatewayError,
    InvalidAPIKey,
    InvalidParameterValue,
    ModelNotAvailable,
    RateLimitExceeded,
    RequestTooLarge,
    ServiceUnavailable,
    UpstreamTimeout,
)

log = logging.getLogger("nanogate.upstream")

Dialect = Literal["openai", "anthropic"]
"""The wire dialect of an upstream, which selects its row of :data:`QUIRKS`."""

_ADDRESSES = re.compile(
    r"\b[a-z][a-z0-9+.-]*://\S+"  # URLs
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"  # IPv4, with a port
    r"|\[[0-9a-fA-F:]+\](?::\d+)?"  # bracketed IPv6
    r"|\blocalhost(?::\d+)?\b"
)


def _safe(message: str, secrets: Secrets | None) -> str:
    """An upstream message fit for the client: no credentials, URLs or addresses."""
    return _ADDRESSES.sub("[upstream]", redact(message, secrets)).strip()


def _retry_after(headers: Mapping[str, str]) -> int | None:
    """``Retry-After`` in whole seconds (rounded up), when it is a number."""
    try:
        seconds = float(headers.get("retry-after", ""))
    except ValueError:
        return None
    return math.ceil(seconds) if math.isfinite(seconds) and seconds >= 0 else None


# What an upstream said ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """The error object of an upstream's answer, whichever dialect wrote it.

    OpenAI: ``{"error": {"message", "type", "code", "param"}}`` (or a bare string);
    Anthropic: ``{"type": "error", "error": {"type", "message"}}``; vLLM and some
    others put the fields at the top level with ``"object": "error"``.
    """

    message: str = ""
    type: str = ""
    code: str = ""
    param: str | None = None
    status: int | None = None
    """A status written inside the error (in-band stream errors carry one)."""

    @classmethod
    def parse(cls, data: Any) -> Problem:
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, str):
            return cls(message=error)
        if not isinstance(error, dict):
            if not (isinstance(data, dict) and data.get("object") == "error"):
                return cls()
            error = data
        status = error.get("status")
        return cls(
            message=_text(error.get("message")),
            type=_text(error.get("type")),
            code=_text(error.get("code")),
            param=error.get("param") if isinstance(error.get("param"), str) else None,
            status=status if isinstance(status, int) and 400 <= status <= 599 else None,
        )

    @classmethod
    def from_body(cls, body: bytes) -> Problem:
        try:
            return cls.parse(orjson.loads(body))
        except orjson.JSONDecodeError:
            return cls()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


# Per-dialect quirks of a 400 -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quirk:
    """One way an upstream says what a 400 really means: by its error ``code``, or by
    a pattern its message matches (case-insensitive)."""

    error: type[GatewayError]
    codes: frozenset[str] = frozenset()
    pattern: re.Pattern[str] | None = None

    def matches(self, problem: Problem) -> bool:
        if problem.code in self.codes:
            return True
        return self.pattern is not None and self.pattern.search(problem.message) is not None


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


QUIRKS: Mapping[Dialect, tuple[Quirk, ...]] = {
    "openai": (
        Quirk(
            ContextLengthExceeded,
            codes=frozenset({"context_length_exceeded", "string_above_max_length"}),
        ),
        Quirk(ContextLengthExceeded, pattern=_words(r"maximum context length")),  # vLLM
        Quirk(
            ContentPolicyViolation,
            codes=frozenset({"content_filter", "content_policy_violation"}),
        ),
    ),
    "anthropic": (
        Quirk(
            ContextLengthExceeded,
            pattern=_words(r"prompt is too long|exceeds? (the )?context (limit|window)"),
        ),
        Quirk(ContentPolicyViolation, pattern=_words(r"blocked by content filtering policy")),
    ),
}
"""What a 400 means, per upstream dialect; first match wins, else
``invalid_parameter_value``."""


# The status table ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """An upstream's error answer, as the rules of :data:`STATUS_TABLE` read it."""

    status: int
    problem: Problem
    headers: Mapping[str, str]
    dialect: Dialect
    byok: bool
    secrets: Secrets | None = None
    """The credentials the request was sent with, masked in whatever repeats the answer."""


def _bad_request(failure: Failure) -> GatewayError:
    problem = failure.problem
    message = _safe(problem.message, failure.secrets) or "no reason given"
    for quirk in QUIRKS[failure.dialect]:
        if quirk.matches(problem):
            if quirk.error is ContentPolicyViolation:
                return ContentPolicyViolation(
                    f"The model provider's content filter blocked the request: {message}"
                )
            return quirk.error(f"The model provider says: {message}")
    return InvalidParameterValue(
        f"The model provider rejected the request: {message}", param=problem.param
    )


def _not_found(failure: Failure) -> GatewayError:
    return ModelNotAvailable("The model's deployment was not found at its provider.")


def _too_large(failure: Failure) -> GatewayError:
    return RequestTooLarge("The model provider refused the request as too large.")


def _rate_limited(failure: Failure) -> GatewayError:
    return RateLimitExceeded(
        "The model provider is rate limiting requests; retry after the Retry-After delay.",
        retry_after=_retry_after(failure.headers) or 1,
    )


def _credentials(failure: Failure) -> GatewayError:
    if failure.byok:
        return InvalidAPIKey(
            "The model provider refused your API key for it; check the key you supplied."
        )
    return ServiceUnavailable("The model provider refused the gateway's credentials.")


def _timeout(failure: Failure) -> GatewayError:
    return UpstreamTimeout()


def _overloaded(failure: Failure) -> GatewayError:
    return ServiceUnavailable(
        "The model provider is overloaded; retry shortly.",
        retry_after=_retry_after(failure.headers),
    )


def _unavailable(failure: Failure) -> GatewayError:
    return ServiceUnavailable(
        f"The model provider failed (HTTP {failure.status}).",
        retry_after=_retry_after(failure.headers),
    )


Rule = Callable[[Failure], GatewayError]

STATUS_TABLE: tuple[tuple[frozenset[int] | None, Rule], ...] = (
    (frozenset({429}), _rate_limited),
    (frozenset({401, 403}), _credentials),
    (frozenset({408, 504}), _timeout),
    (frozenset({404}), _not_found),
    (frozenset({413}), _too_large),
    (frozenset({400, 422}), _bad_request),
    (frozenset({529}), _overloaded),
    (None, _unavailable),
)
"""Upstream status → catalogue error, first match wins (``None`` matches any status).
Other 4xx are the gateway's or the operator's problem, not the client's, so they
fall through to a 503 like every 5xx."""

STATUS_OF_TYPE: Mapping[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "permission_denied_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "server_error": 500,
    "service_unavailable": 503,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""The status an error ``type`` stands for, for in-band stream errors that carry no
status (Anthropic's ``event: error``, OpenAI's mid-stream error objects)."""


def _map(failure: Failure) -> GatewayError:
    for statuses, rule in STATUS_TABLE:
        if statuses is None or failure.status in statuses:
            return rule(failure)
    raise AssertionError("the last rule matches every status")


def error_for_status(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    dialect: Dialect = "openai",
    byok: bool = False,
    secrets: Secrets | None = None,
) -> GatewayError:
    """The catalogue error for an upstream's HTTP error response to a request sent with
    ``secrets``, which neither the error nor the log line repeats."""
    problem = Problem.from_body(body)
    if problem.message:
        log.info("upstream answered %s: %s", status, redact(problem.message, secrets)[:500])
    return _map(Failure(status, problem, headers, dialect, byok, secrets))


def error_for_event(
    data: dict[str, Any],
    *,
    dialect: Dialect = "openai",
    byok: bool = False,
    secrets: Secrets | None = None,
) -> GatewayError:
    """The catalogue error for an error frame inside an upstream's stream (to a request
    sent with ``secrets``); its status is the one it carries, else the one its ``type``
    stands for, else 503."""
    problem = Problem.parse(data)
    if problem.message:
        log.info("upstream stream error: %s", redact(problem.message, secrets)[:500])
    status = problem.status or STATUS_OF_TYPE.get(problem.type, 503)
    return _map(Failure(status, problem, {}, dialect, byok, secrets))


# Answers that are not failures on the wire ------------------------------------------------


def stream_ended_early() -> ServiceUnavailable:
    """The error for an upstream stream that stopped without its final event."""
    return ServiceUnavailable("The model provider's stream ended before the response was complete.")


def malformed_answer() -> ServiceUnavailable:
    """The error for an upstream answer that is not the JSON object it should be."""
    return ServiceUnavailable("The model provider sent a malformed answer.")


def content_filtered() -> ContentPolicyViolation:
    """The error for an answer the provider's own content filter withheld entirely."""
    return ContentPolicyViolation(
        "The model provider's content filter blocked the response; you were not charged."
    )


def _has_output(part: Mapping[str, Any]) -> bool:
    return bool(part.get("content") or part.get("tool_calls"))


def check_filtered(completion: Mapping[str, Any]) -> None:
    """Raise :func:`content_filtered` for a ``chat.completion`` whose choices all ended
    in ``content_filter`` with nothing produced; partial output is an answer."""
    choices = completion.get("choices") or ()
    if choices and all(
        c.get("finish_reason") == "content_filter" and not _has_output(c.get("message") or {})
        for c in choices
    ):
        raise content_filtered()


class FilterWatch:
    """:func:`check_filtered` for a stream: fed every chunk, it raises when a choice
    finishes in ``content_filter`` before the stream produced anything."""

    __slots__ = ("_produced",)

    def __init__(self) -> None:
        self._produced = False

    def see(self, chunk: Mapping[str, Any]) -> None:
        if self._produced:
            return  # a filter after some output ends an answer; it is not an error
        for choice in chunk.get("choices") or ():
            if _has_output(choice.get("delta") or {}):
                self._produced = True
            elif choice.get("finish_reason") == "content_filter":
                raise content_filtered()


# Transport failures ----------------------------------------------------------------------


def transport_errors() -> tuple[type[BaseException], ...]:
    """What a failed connection raises: ``ConnectionError``, and aiohttp's client errors
    once aiohttp is loaded (nothing raises them before; the gateway's own upstream
    client does not use it)."""
    aiohttp = sys.modules.get("aiohttp")
    return (ConnectionError,) if aiohttp is None else (aiohttp.ClientError, ConnectionError)


@contextmanager
def service_errors(
    unavailable: Callable[[str], GatewayError], subject: str, what: str
) -> Iterator[None]:
    """Map transport exceptions and malformed data raised inside the block to the 503
    ``unavailable`` makes of a reason about ``subject`` ("it", "the search service"),
    for a service the gateway calls beside the model (moderation, web search); the
    original is chained, and logged as ``what``'s."""
    try:
        yield
    except GatewayError:
        raise
    except TimeoutError as exc:
        raise unavailable(f"{subject} did not answer in time") from exc
    except transport_errors() as exc:
        log.info("%s connection failed: %s", what, type(exc).__name__)
        raise unavailable(f"{subject} could not be reached") from exc
    except (ValueError, TypeError, KeyError) as exc:
        log.info("%s sent malformed data: %s", what, exc)
        raise unavailable(f"{subject} sent a malformed answer") from exc


@contextmanager
def upstream_errors() -> Iterator[None]:
    """Map transport exceptions and malformed data raised inside the block to catalogue
    errors; the original is chained and logged."""
    try:
        yield
    except GatewayError:
        raise
    except TimeoutError as exc:  # asyncio's and aiohttp's timeouts alike
        raise UpstreamTimeout() from exc
    except transport_errors() as exc:
        log.info("upstream connection failed: %s", type(exc).__name__)
        raise ServiceUnavailable("The model provider could not be reached or failed.") from exc
    except ValueError as exc:  # undecodable JSON, an oversized SSE line
        log.info("upstream sent malformed data: %s", exc)
        raise malformed_answer() from exc
