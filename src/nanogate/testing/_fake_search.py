"""Fake web search services: a SearxNG instance's JSON API and the Tavily API shape.

:class:`FakeSearch` answers ``GET /search?q=…&format=json`` (SearxNG, with ``pageno``)
and ``POST /search`` with ``{query, max_results, search_depth}`` (Tavily, which wants
``Authorization: Bearer <key>`` when the fake has a key). Every result names the query,
so a test can tell which search reached an upstream's prompt. Faults: the next
searches answer an error status, a body that is not JSON, or nothing in time. Served
with :class:`~nanogate.testing.ServedAioHTTP`; a test thread may call its methods while
it runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from aiohttp import web

FaultKind = Literal["status", "garbled", "hang"]


@dataclass(frozen=True, slots=True)
class Search:
    """One search the fake answered (or failed)."""

    shape: Literal["searxng", "tavily"]
    query: str
    depth: str
    """``basic``/``advanced`` (Tavily) or the page read (SearxNG, ``page 1``...)."""


def result_url(query: str, n: int) -> str:
    """The URL of the fake's ``n``-th result for ``query``."""
    slug = "-".join(query.lower().split())[:60] or "empty"
    return f"https://results.example/{slug}/{n}"


class FakeSearch:
    """A search service whose results are made from the query; ``searches`` records each."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        results: int = 3,
        hang_s: float = 3.0,
        snippet_words: int = 0,
    ) -> None:
        self.searches: list[Search] = []
        self.api_key = api_key
        self.results = results
        self.snippet_words = snippet_words
        """Words added to each snippet, to make results long."""
        self.hang_s = hang_s
        """How long a ``hang`` fault keeps the client waiting before it answers."""
        self._lock = threading.Lock()
        self._faults: deque[tuple[FaultKind, int]] = deque()

    def fail_next(self, kind: FaultKind = "status", status: int = 500, count: int = 1) -> None:
        """Fail the next ``count`` searches: an HTTP ``status``, a body that is not JSON,
        or no answer for :attr:`hang_s` (longer than the gateway's ``timeout_s``)."""
        with self._lock:
            self._faults.extend([(kind, status)] * count)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/search", self._searxng)
        app.router.add_post("/search", self._tavily)
        return app

    def _items(self, query: str, first: int, count: int) -> list[dict[str, Any]]:
        return [
            {
                "title": f"Result {n} about {query}",
                "url": result_url(query, n),
                "content": f"Snippet {n}: what the web says about {query}."
                + "".join(f" detail{i}" for i in range(self.snippet_words)),
            }
            for n in range(first, first + count)
        ]

    async def _fault(self, search: Search) -> web.Response | None:
        with self._lock:
            self.searches.append(search)
            fault = self._faults.popleft() if self._faults else None
        if fault is None:
            return None
        kind, status = fault
        if kind == "hang":
            await asyncio.sleep(self.hang_s)
        if kind == "garbled":
            return web.Response(status=200, body=b"<html>not json", content_type="text/html")
        return web.Response(status=status, body=b'{"error": "search failed"}')

    async def _searxng(self, request: web.Request) -> web.Response:
        query = request.query.get("q", "")
        if request.query.get("format") != "json":
            return web.Response(status=403, body=b"format not allowed")
        page = int(request.query.get("pageno", "1"))
        failed = await self._fault(Search("searxng", query, f"page {page}"))
        if failed is not None:
            return failed
        first = 1 + (page - 1) * self.results
        body = {"query": query, "results": self._items(query, first, self.results)}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def _tavily(self, request: web.Request) -> web.Response:
        if self.api_key is not None and request.headers.get("authorization") != (
            f"Bearer {self.api_key}"
        ):
            return web.Response(status=401, body=b'{"detail": {"error": "Unauthorized"}}')
        body = orjson.loads(await request.read())
        query = str(body.get("query", ""))
        failed = await self._fault(Search("tavily", query, str(body.get("search_depth"))))
        if failed is not None:
            return failed
        count = min(int(body.get("max_results", 5)), self.results)
        answer = {"query": query, "results": self._items(query, 1, count), "response_time": 0.1}
        return web.Response(body=orjson.dumps(answer), content_type="application/json")
