"""Web search: search providers behind one Protocol, and what a search adds to a prompt."""

from nanogate.search._providers import SearchProvider, SearxNG, Tavily, search_provider
from nanogate.search._results import (
    SearchResult,
    clean_results,
    fitting_block,
    max_added_tokens,
    results_text,
    search_query,
    with_results,
)

__all__ = [
    "SearchProvider",
    "SearchResult",
    "SearxNG",
    "Tavily",
    "clean_results",
    "fitting_block",
    "max_added_tokens",
    "results_text",
    "search_provider",
    "search_query",
    "with_results",
]
