"""What both clients share, without I/O: URLs, headers, calls, and the answer type.

A :class:`Call` is one request as data; :class:`Config` builds them from a base URL,
an API key and default headers. :class:`Response` is the ``dict`` every non-streaming
method returns, with the answer's request id beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from nanogate._version import __version__
from nanogate.client._dialects import Dialect

DEFAULT_BASE_URL = "https://nano-gpt.com/api/v1"
ANTHROPIC_VERSION = "2023-06-01"

Timeout = float | httpx.Timeout
DialectFactory = Callable[[Mapping[str, str]], Dialect]


class Response(dict[str, Any]):
    """A JSON object answer: a plain ``dict`` plus the answer's ``request_id``,
    ``status`` and ``headers`` as attributes (not keys)."""

    request_id: str | None
    status: int
    headers: Mapping[str, str]

    def __init__(
        self,
        data: Mapping[str, Any],
        *,
        request_id: str | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(data)
        self.request_id = request_id
        self.status = status
        self.headers = headers if headers is not None else {}


@dataclass(frozen=True, slots=True)
class Call:
    """One request: method, absolute URL, JSON body, headers, and how it streams."""

    method: str
    url: str
    json: dict[str, Any] | None
    headers: dict[str, str]
    timeout: Timeout | None
    dialect: DialectFactory | None = None

    @property
    def path(self) -> str:
        """The URL's path, for log lines (never the query, never a header)."""
        return urlsplit(self.url).path


@dataclass(frozen=True, slots=True)
class Config:
    """A client's fixed settings. The legacy root is the base URL without ``/v1``."""

    base_url: str
    api_key: str | None
    timeout: Timeout
    default_headers: Mapping[str, str]

    @classmethod
    def of(
        cls,
        base_url: str,
        api_key: str | None,
        timeout: Timeout,
        default_headers: Mapping[str, str] | None,
    ) -> Config:
        return cls(base_url.rstrip("/"), api_key, timeout, dict(default_headers or {}))

    @property
    def legacy_url(self) -> str:
        """The ``/api`` root the legacy routes hang from."""
        return self.base_url.removesuffix("/v1")

    def call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout | None = None,
        dialect: DialectFactory | None = None,
        legacy: bool = False,
    ) -> Call:
        """The :class:`Call` for ``path`` under the base URL (or the legacy root)."""
        root = self.legacy_url if legacy else self.base_url
        merged = {
            "accept": "text/event-stream" if dialect else "application/json",
            "user-agent": f"nanogate-python/{__version__}",
        }
        if self.api_key:
            merged["authorization"] = f"Bearer {self.api_key}"
            if legacy:  # NanoGPT's legacy routes read x-api-key
                merged["x-api-key"] = self.api_key
        for source in (self.default_headers, headers or {}):
            merged.update({name.lower(): value for name, value in source.items()})
        return Call(
            method,
            root + path,
            json,
            merged,
            timeout if timeout is not None else self.timeout,
            dialect,
        )


def body(params: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    """A JSON body: the named fields, then the free-form ``params``."""
    return {**fields, **params}


def path_segment(value: str) -> str:
    """``value`` quoted as one path segment."""
    return quote(value, safe="")
