"""What every rail client shares: JSON POSTs to one peer through a pooled session, whose
failures all become :class:`~nanogate.rails.RailError`.

The session is made on first use inside the running event loop, by the factory the
client is given (tests inject their own) or by a small keep-alive pool. Transport
failures pass through one table, most specific class first; an answer with a status
other than 2xx, or that is not a JSON object, is a failure too. Messages name the peer by
its origin (scheme, host, port): the path, query and user information of a node's URL
often hold an API key, and an answer's text is redacted (by the shape of credentials and
by the values the URL holds, which a peer may echo) and cut short.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from nanogate.core import Secrets, redact, url_secrets
from nanogate.providers._http import SessionFactory, pooled_session
from nanogate.rails._receipts import RailError

if TYPE_CHECKING:
    import aiohttp

MAX_CONNECTIONS = 8
"""The default pool's size: rails make few requests, one after another per payment."""

_HEADERS = {"content-type": "application/json", "accept": "application/json"}


@cache
def _failures() -> tuple[tuple[type[BaseException], str], ...]:
    """Transport failures and what they mean, most specific first. (aiohttp is loaded
    when a peer is first used, not when the gateway starts.)"""
    import aiohttp

    return (
        (TimeoutError, "did not answer in time"),  # asyncio's and aiohttp's timeouts
        (aiohttp.ClientConnectorError, "could not be reached"),
        (aiohttp.ServerDisconnectedError, "closed the connection without answering"),
        (aiohttp.ClientPayloadError, "sent a truncated or malformed body"),
        (aiohttp.ClientResponseError, "sent a malformed HTTP answer"),
        (aiohttp.InvalidURL, "has an invalid URL"),
        (aiohttp.ClientError, "failed"),
        (OSError, "could not be reached"),
    )


_EXCERPT = 200
"""The most characters of a peer's own error message that a RailError repeats."""


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, without its user information, path or query."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "an unparsable URL"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def excerpt(text: object, secrets: Secrets | None = None) -> str:
    """A peer's error message, fit to repeat: redacted (with ``secrets`` masked), on one
    line, cut short."""
    flat = " ".join(redact(str(text), secrets).split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 3] + "..."


def _plain(value: object) -> object:
    """orjson's fallback: mappings other than dicts serialise as objects."""
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _encode(body: Mapping[str, Any]) -> bytes:
    try:
        return orjson.dumps(body, default=_plain)
    except orjson.JSONEncodeError:
        # integers beyond 64 bits (say, in a caller's payment payload): the standard
        # library writes them exactly, as JSON allows.
        return json.dumps(body, separators=(",", ":"), default=_plain).encode()


class JsonPeer:
    """A peer's URL, timeout and lazily made session; ``name`` says who it is in errors."""

    def __init__(
        self,
        kind: str,
        url: str,
        *,
        timeout_s: float,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self.name = f"{kind} at {origin(url)}"
        self._url = url
        self._secrets = Secrets(url_secrets(url))
        self._timeout_s = timeout_s
        self._timeout: aiohttp.ClientTimeout | None = None
        self._make = session_factory or pooled_session(MAX_CONNECTIONS)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            import aiohttp

            self._timeout = aiohttp.ClientTimeout(total=self._timeout_s)
            self._session = self._make()
        return self._session

    @contextmanager
    def _mapped(self, what: str) -> Iterator[None]:
        try:
            yield
        except Exception as exc:
            for kind, meaning in _failures():
                if isinstance(exc, kind):
                    raise RailError(f"{self.name} {meaning} ({what}).") from exc
            raise

    async def post(self, body: Mapping[str, Any], *, what: str, path: str = "") -> dict[str, Any]:
        """POST ``body`` to the peer's URL plus ``path``; the JSON object it answers.

        ``what`` names the request in error messages (an RPC action or method).
        """
        data = _encode(body)
        with self._mapped(what):
            async with self._client().post(
                self._url + path,
                data=data,
                headers=_HEADERS,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                payload = await response.read()
        if not 200 <= status < 300:
            raise RailError(f"{self.name} answered HTTP {status} ({what}).")
        try:
            answer = orjson.loads(payload)
        except orjson.JSONDecodeError:
            raise RailError(f"{self.name} answered something that is not JSON ({what}).") from None
        if not isinstance(answer, dict):
            raise self.malformed(what, "not a JSON object")
        return answer

    def refused(self, what: str, message: object) -> RailError:
        """The peer answered with an error of its own."""
        return RailError(f"{self.name} refused {what}: {excerpt(message, self._secrets)}")

    def clean(self, text: str | None) -> str | None:
        """A short text of the peer's (a refusal's reason) with credentials masked."""
        return None if text is None else redact(text, self._secrets)

    def malformed(self, what: str, problem: str) -> RailError:
        """The peer's answer is JSON but not what its protocol promises."""
        return RailError(f"{self.name} answered {what} with a malformed answer: {problem}.")

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
