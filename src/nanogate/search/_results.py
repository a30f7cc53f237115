"""What web search reads from a request and adds to it, sans-IO.

The query is the last user turn's text. The results go in front of that turn, as a
numbered list of title, URL and snippet the model is told to cite, so every provider
and surface sees them the same way (a system message in the middle of a conversation
is not something every upstream takes). Each result is cut to a fixed size, so what
the search may add to the prompt has a bound the request's hold covers before the
search runs (:func:`max_added_tokens`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nanogate.core import count_tokens
from nanogate.errors import InvalidParameterValue

MAX_QUERY_CHARS = 400
"""Search engines take short queries; a longer last turn is searched by its start."""
MAX_TITLE_CHARS = 200
MAX_URL_CHARS = 500
"""A result with a longer URL is dropped: cut, it would not lead anywhere."""
MAX_SNIPPET_CHARS = 600
_RESULT_FRAMING_CHARS = 24
_PREAMBLE = (
    'Web search results for "{query}" (searched {when}):\n\n{results}\n\n'
    "Use these results where they help to answer, and cite the URL of each result "
    "you use, like [1](https://example.com).\n\n---\n\n"
)


@dataclass(frozen=True, slots=True)
class SearchResult:
    title: str
    url: str
    snippet: str


def search_query(messages: Sequence[Mapping[str, Any]], param: str = "messages") -> str:
    """The text of the last user turn, cut to :data:`MAX_QUERY_CHARS`; raises
    ``invalid_parameter_value`` (on ``param``, the client's name for the messages) when
    there is none to search for."""
    for message in reversed(messages):
        if message.get("role") != "user":
            continue
        text = " ".join(_texts(message.get("content"))).strip()
        if text:
            return " ".join(text.split())[:MAX_QUERY_CHARS]
        break
    raise InvalidParameterValue(
        "Web search needs the last user message to have text to search for.", param=param
    )


def _texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [
            str(part.get("text") or "")
            for part in content
            if isinstance(part, Mapping) and part.get("type") == "text"
        ]
    return []


def clean_results(raw: Sequence[SearchResult], limit: int) -> list[SearchResult]:
    """Up to ``limit`` results with a URL, each cut to the fixed sizes."""
    kept: list[SearchResult] = []
    for result in raw:
        url = " ".join(result.url.split())
        if not url or len(url) > MAX_URL_CHARS:
            continue
        title = " ".join(result.title.split())[:MAX_TITLE_CHARS] or url[:MAX_TITLE_CHARS]
        snippet = " ".join(result.snippet.split())[:MAX_SNIPPET_CHARS]
        kept.append(SearchResult(title, url, snippet))
        if len(kept) == limit:
            break
    return kept


def results_text(query: str, results: Sequence[SearchResult], when: str) -> str:
    """The block put in front of the last user turn."""
    listed = "\n\n".join(
        f"[{n}] {r.title}\nURL: {r.url}" + (f"\n{r.snippet}" if r.snippet else "")
        for n, r in enumerate(results, 1)
    )
    return _PREAMBLE.format(query=query, when=when, results=listed or "(no results)")


def fitting_block(query: str, results: Sequence[SearchResult], when: str, room: int) -> str | None:
    """The block of the most results (in their order) whose tokens fit in ``room``;
    ``None`` when not even the first fits."""
    for count in range(len(results), 0, -1):
        block = results_text(query, results[:count], when)
        if count_tokens(block) <= room:
            return block
    block = results_text(query, (), when)
    return block if not results and count_tokens(block) <= room else None


def max_added_tokens(max_results: int) -> int:
    """The most tokens :func:`with_results` may add: every token of the gateway's
    count is at least one character, and every part of the block has a bound."""
    per_result = MAX_TITLE_CHARS + MAX_URL_CHARS + MAX_SNIPPET_CHARS + _RESULT_FRAMING_CHARS
    preamble = len(_PREAMBLE) + MAX_QUERY_CHARS + 32
    return preamble + max_results * per_result


def with_results(messages: Sequence[Mapping[str, Any]], block: str) -> list[dict[str, Any]]:
    """``messages`` with ``block`` in front of the last user turn's text; without a user
    turn (context memory compressed it into its summary), in a system message of its
    own after the leading ones."""
    out = [dict(message) for message in messages]
    for message in reversed(out):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):
            message["content"] = [{"type": "text", "text": block}, *content]
        else:
            message["content"] = block + str(content or "")
        return out
    lead = 0
    while lead < len(out) and out[lead].get("role") in ("system", "developer"):
        lead += 1
    out.insert(lead, {"role": "system", "content": block.rstrip().removesuffix("---").rstrip()})
    return out
