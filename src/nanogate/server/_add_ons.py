"""The paid add-ons on the request path: what a request asks of them, and web search.

A request's add-ons are priced before it is admitted, so their maximum cost is held
with its inference (and quoted, for x402). Web search runs once the request is
admitted and moderated, before its first deployment is tried: the last user turn is
searched, and the results go in front of it. A failed search releases the hold; a
search that ran is charged with the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nanogate.core import usd_to_nano
from nanogate.errors import ContextLengthExceeded, InvalidParameterValue
from nanogate.routing import ModelChoice
from nanogate.search import (
    clean_results,
    fitting_block,
    max_added_tokens,
    results_text,
    with_results,
)
from nanogate.server._context import RequestContext


@dataclass(frozen=True, slots=True)
class SearchAsk:
    """A web search a request asks for, priced."""

    query: str
    deep: bool
    limit: int
    """How many results to add at most."""
    price_nusd: int

    @property
    def added_tokens(self) -> int:
        """The most tokens the results may add to the prompt (held before the search)."""
        return max_added_tokens(self.limit)


def check_search(ctx: RequestContext, choice: ModelChoice, from_suffix: bool) -> None:
    """Refuse a web search this gateway cannot run: none configured, or another
    provider named (``:online/<name>``, ``webSearch.provider``)."""
    asked = choice.web_search
    if asked is None:
        return
    provider = ctx.state.search
    param = "model" if from_suffix else "webSearch"
    if provider is None:
        raise InvalidParameterValue("Web search is not configured on this gateway.", param=param)
    if asked.provider is not None and asked.provider != provider.name:
        raise InvalidParameterValue(
            f"The web search provider '{asked.provider[:40]}' is not available; this "
            f"gateway searches with '{provider.name}'.",
            param=param if from_suffix else "webSearch.provider",
        )


def search_ask(ctx: RequestContext, choice: ModelChoice | None, query: str) -> SearchAsk | None:
    """The priced web search ``choice`` asks for (checked by :func:`check_search`)."""
    if choice is None or choice.web_search is None:
        return None
    settings = ctx.state.settings.web_search
    deep = choice.web_search.depth == "deep"
    price = settings.deep_price_usd if deep else settings.price_usd
    limit = settings.max_results * (2 if deep else 1)
    return SearchAsk(query, deep, limit, usd_to_nano(price))


ROOM_MARGIN = 8
"""Tokens kept free beside the results, for how the block joins the turn's text."""


def check_room(prompt_tokens: int, max_tokens: int | None, window: int) -> None:
    """Refuse, before anything is searched or charged, a request that leaves no room
    in ``window`` for even one result beside its prompt and output."""
    needed = prompt_tokens + max_added_tokens(1) + ROOM_MARGIN + (max_tokens or 0)
    if needed >= window:
        raise ContextLengthExceeded(
            f"This model's maximum context length is {window} tokens, and the request "
            f"({prompt_tokens} tokens in the messages, {max_tokens or 0} in the completion) "
            "leaves no room for web search results. Shorten the messages or the "
            "completion, or turn on context memory."
        )


async def search_messages(
    ctx: RequestContext, ask: SearchAsk, messages: list[dict[str, Any]], room: int
) -> list[dict[str, Any]]:
    """``messages`` with the web's results for ``ask`` in front of the last user turn,
    as many of them as fit in ``room`` tokens (:func:`check_room` made room for one); a
    failed search raises 503 ``service_unavailable``."""
    provider = ctx.state.search
    assert provider is not None, "checked by check_search"
    found = await provider.search(
        ask.query, max_results=ask.limit, deep=ask.deep, request_id=ctx.request_id
    )
    results = clean_results(found, ask.limit)
    when = ctx.state.clock().strftime("%Y-%m-%d")
    block = fitting_block(ask.query, results, when, room - ROOM_MARGIN)
    if block is None:
        block = results_text(ask.query, results[:1], when)
    return with_results(messages, block)
