"""An OpenAI-compatible moderation upstream: ``POST {base_url}/moderations``.

One pooled keep-alive ``aiohttp`` session per provider (the pool every HTTP
upstream uses), made on first use inside the running event loop. Every failure of
the upstream (refused or reset connection, timeout, error status, malformed answer)
is a 503 ``service_unavailable`` naming the moderation provider: a request it was
to gate is not run, and nothing is charged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import orjson

from nanogate.config import ProviderSettings
from nanogate.errors import ServiceUnavailable
from nanogate.moderation._protocol import ModerationCall, ModerationResult, Verdict
from nanogate.providers._http import pooled_session
from nanogate.providers._upstream_errors import service_errors

if TYPE_CHECKING:
    import aiohttp

    from nanogate.moderation._protocol import Moderator


def unavailable(reason: str, retry_after: int | None = None) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Moderation provider unavailable: {reason}. Nothing was charged; try again later.",
        retry_after=retry_after,
    )


def _retry_after(headers: Mapping[str, str]) -> int | None:
    value = headers.get("retry-after", "")
    return int(value) if value.isdigit() else None


STATUS_TABLE: tuple[tuple[Callable[[int], bool], Callable[[int, Mapping[str, str]], str]], ...] = (
    (lambda s: s == 429, lambda s, h: "it is rate limiting the gateway"),
    (lambda s: s in (401, 403), lambda s, h: "it refused the gateway's credentials"),
    (lambda s: True, lambda s, h: f"it answered HTTP {s}"),
)
"""Upstream status → the reason given in the 503, first match wins. A 429's
``Retry-After`` is passed on."""


def error_for_status(status: int, headers: Mapping[str, str]) -> ServiceUnavailable:
    for matches, reason in STATUS_TABLE:
        if matches(status):
            return unavailable(reason(status, headers), _retry_after(headers))
    raise AssertionError("the last rule matches every status")


def moderation_errors() -> AbstractContextManager[None]:
    """Map transport exceptions and malformed data raised inside the block to 503s;
    the original is chained and logged."""
    return service_errors(unavailable, "it", "moderation upstream")


def request_body(call: ModerationCall) -> dict[str, Any]:
    """The upstream request: text inputs as strings, one multimodal input as parts."""
    inputs = call.inputs
    body: dict[str, Any] = {"model": call.model.upstream_model}
    if len(inputs) == 1 and any(part.kind != "text" for part in inputs[0]):
        body["input"] = [
            {"type": "text", "text": part.text}
            if part.kind == "text"
            else {"type": "image_url", "image_url": {"url": part.url}}
            for part in inputs[0]
        ]
        return body
    texts = ["\n\n".join(part.text for part in parts) for parts in inputs]
    body["input"] = texts[0] if len(texts) == 1 else texts
    return body


def _verdict(result: Any) -> Verdict:
    if not isinstance(result, dict) or not isinstance(result.get("flagged"), bool):
        raise ValueError("a result without a boolean 'flagged'")
    categories = result.get("categories") or {}
    scores = result.get("category_scores") or {}
    if not isinstance(categories, dict) or not all(
        isinstance(v, bool) for v in categories.values()
    ):
        raise ValueError("'categories' is not an object of booleans")
    if not isinstance(scores, dict) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in scores.values()
    ):
        raise ValueError("'category_scores' is not an object of numbers")
    return Verdict(
        result["flagged"],
        {str(k): v for k, v in categories.items()},
        {str(k): float(v) for k, v in scores.items()},
    )


def parse_answer(data: Any, count: int) -> ModerationResult:
    """The upstream's answer as a result of ``count`` verdicts; raises ``ValueError``
    when it is not that."""
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list) or len(results) != count:
        raise ValueError(f"expected {count} result(s)")
    usage = data.get("usage")
    reported = usage if isinstance(usage, dict) and "prompt_tokens" in usage else None
    return ModerationResult(tuple(_verdict(result) for result in results), reported)


class OpenAIModerator:
    """A :class:`~nanogate.moderation.Moderator` for an OpenAI-compatible HTTP server."""

    kinds = frozenset({"text", "image"})

    def __init__(self, settings: ProviderSettings, api_key: str | None) -> None:
        self.name = settings.name
        self._url = settings.base_url.rstrip("/") + "/moderations"
        self._headers = {"content-type": "application/json", "accept": "application/json"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._timeouts = (settings.timeout_s, settings.connect_timeout_s)
        self._timeout: aiohttp.ClientTimeout | None = None
        self._make = pooled_session(settings.max_connections)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """The pooled session (the one every HTTP upstream uses), made on first use
        inside the running loop."""
        if self._session is None or self._session.closed:
            import aiohttp  # loaded on first use, not at start-up

            total, connect = self._timeouts
            self._timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect)
            self._session = self._make()
        return self._session

    async def moderate(self, call: ModerationCall) -> ModerationResult:
        """One verdict per input from ``POST /moderations``."""
        with moderation_errors():
            async with self._client().post(
                self._url,
                data=orjson.dumps(request_body(call)),
                headers={**self._headers, "x-request-id": call.request_id},
                timeout=self._timeout,
            ) as response:
                payload = await response.read()
                if response.status >= 400:
                    raise error_for_status(response.status, response.headers)
                if response.status != 200:
                    raise ValueError(f"unexpected HTTP {response.status}")
                return parse_answer(orjson.loads(payload), len(call.inputs))

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()


if TYPE_CHECKING:  # mypy proves OpenAIModerator satisfies the Protocol
    _conforms: type[Moderator] = OpenAIModerator
