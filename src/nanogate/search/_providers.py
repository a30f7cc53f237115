"""Search providers behind one Protocol: a SearxNG instance, or the Tavily API shape.

Each holds one pooled keep-alive ``aiohttp`` session, made on first use inside the
running loop. Every failure of the search service (refused or reset connection,
timeout, error status, malformed answer) is a 503 ``service_unavailable``: the
request it was to inform is not run, and nothing is charged.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from nanogate.config import WebSearchSettings
from nanogate.errors import ServiceUnavailable
from nanogate.providers._http import pooled_session
from nanogate.providers._upstream_errors import service_errors
from nanogate.search._results import SearchResult

if TYPE_CHECKING:
    import aiohttp


class SearchProvider(Protocol):
    """Searches the web for a query."""

    name: str

    async def search(
        self, query: str, *, max_results: int, deep: bool, request_id: str
    ) -> list[SearchResult]:
        """Up to ``max_results`` results; ``deep`` asks for a more thorough search."""
        ...

    async def close(self) -> None: ...


def unavailable(reason: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"Web search unavailable: {reason}. Nothing was charged; try again later, "
        "or send the request without web search."
    )


def search_errors() -> AbstractContextManager[None]:
    """Map transport exceptions and malformed data raised inside the block to 503s."""
    return service_errors(unavailable, "the search service", "search service")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_results(data: Any) -> list[SearchResult]:
    """A search answer: ``results[]`` of ``title``, ``url`` and ``content``, the shape
    SearxNG's ``format=json`` and Tavily's API both answer in."""
    items = data.get("results") if isinstance(data, Mapping) else None
    if not isinstance(items, list):
        raise ValueError("the answer has no list of results")
    return [
        SearchResult(_text(item.get("title")), _text(item.get("url")), _text(item.get("content")))
        for item in items
        if isinstance(item, Mapping)
    ]


class _HTTPSearch:
    """The pooled session and timeout the providers share."""

    name: str

    def __init__(self, settings: WebSearchSettings, api_key: str | None) -> None:
        self._base = settings.url.rstrip("/")
        self._api_key = api_key
        self._timeout_s = settings.timeout_s
        self._make = pooled_session(16)
        self._session: aiohttp.ClientSession | None = None
        self._timeout: aiohttp.ClientTimeout | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            import aiohttp  # loaded on first use, not at start-up

            self._timeout = aiohttp.ClientTimeout(total=self._timeout_s)
            self._session = self._make()
        return self._session

    def _headers(self, request_id: str) -> dict[str, str]:
        """A search's headers: JSON wanted, the request id, the key as a bearer token."""
        headers = {"accept": "application/json", "x-request-id": request_id}
        if self._api_key:
            headers["authorization"] = f"Bearer {self._api_key}"
        return headers

    async def _read(self, response: aiohttp.ClientResponse) -> Any:
        payload = await response.read()
        if response.status == 429:
            raise unavailable("the search service is rate limiting the gateway")
        if response.status in (401, 403):
            raise unavailable("the search service refused the gateway's credentials")
        if response.status != 200:
            raise unavailable(f"the search service answered HTTP {response.status}")
        return orjson.loads(payload)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class SearxNG(_HTTPSearch):
    """A SearxNG instance: ``GET {url}/search?q=…&format=json``. A deep search reads
    the second page of results as well."""

    name = "searxng"

    async def search(
        self, query: str, *, max_results: int, deep: bool, request_id: str
    ) -> list[SearchResult]:
        headers = self._headers(request_id)
        found: list[SearchResult] = []
        with search_errors():
            for page in (1, 2) if deep else (1,):
                async with self._client().get(
                    self._base + "/search",
                    params={"q": query, "format": "json", "pageno": str(page)},
                    headers=headers,
                    timeout=self._timeout,
                ) as response:
                    found.extend(parse_results(await self._read(response)))
                if len(found) >= max_results:
                    break
        return found


class Tavily(_HTTPSearch):
    """The Tavily API shape: ``POST {url}/search`` with ``query``, ``max_results`` and
    ``search_depth`` (``advanced`` for a deep search), the key as a bearer token."""

    name = "tavily"

    async def search(
        self, query: str, *, max_results: int, deep: bool, request_id: str
    ) -> list[SearchResult]:
        headers = {**self._headers(request_id), "content-type": "application/json"}
        body = {
            "query": query,
            "max_results": max_results,
            "search_depth": "advanced" if deep else "basic",
        }
        with search_errors():
            async with self._client().post(
                self._base + "/search",
                data=orjson.dumps(body),
                headers=headers,
                timeout=self._timeout,
            ) as response:
                return parse_results(await self._read(response))


def search_provider(settings: WebSearchSettings, env: Mapping[str, str]) -> SearchProvider | None:
    """The configured search provider, or ``None`` when web search is off."""
    if not settings.enabled:
        return None
    api_key = env.get(settings.api_key_env) if settings.api_key_env else None
    kinds: dict[str, type[SearxNG] | type[Tavily]] = {"searxng": SearxNG, "tavily": Tavily}
    return kinds[settings.provider](settings, api_key or None)


if TYPE_CHECKING:  # mypy proves both satisfy the Protocol
    _searxng: type[SearchProvider] = SearxNG
    _tavily: type[SearchProvider] = Tavily
