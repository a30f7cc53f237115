"""The ``[web_search]`` and ``[memory]`` sections: the paid add-ons of DESIGN section 10.

Web search is on once ``url`` names a search service; context memory once ``enabled``
is set and a secret seals what it stores.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

SearchProviderKind = Literal["searxng", "tavily"]


class WebSearchSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: SearchProviderKind = "searxng"
    """``searxng``: a SearxNG instance's JSON API (``GET {url}/search?q=…&format=json``);
    ``tavily``: the Tavily search API shape (``POST {url}/search``)."""
    url: str = ""
    """The search service's base URL; empty turns web search off."""
    api_key_env: str = ""
    """The environment variable holding the search service's API key, if it needs one."""
    price_usd: Decimal = Field(Decimal("0.006"), ge=0)
    """What one search costs the caller, on top of inference."""
    deep_price_usd: Decimal = Field(Decimal("0.06"), ge=0)
    """What one search with depth ``deep`` (the ``-deep`` suffix) costs."""
    max_results: int = Field(5, ge=1, le=20)
    timeout_s: float = Field(10.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @model_validator(mode="after")
    def _url_is_http(self) -> WebSearchSettings:
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError(f"web_search.url must be an http(s) URL (got {self.url!r})")
        return self


class MemorySettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    summary_model: str = "local/chat"
    """The catalogue chat model that compresses older turns."""
    input_usd_per_mtok: Decimal = Field(Decimal("3.75"), ge=0)
    """What memory costs per million tokens it reads, on top of inference."""
    output_usd_per_mtok: Decimal = Field(Decimal("1.25"), ge=0)
    """...and per million tokens of summary it writes."""
    default_days: int = Field(30, ge=1, le=365)
    """How long memory keeps a summary when the request names no days."""
    summary_max_tokens: int = Field(1024, ge=16)
    """The longest summary the summary model may write."""
    secret: SecretStr | None = None
    """The secret that seals stored summaries (at least 32 characters). Prefer
    ``secret_env``. Memory cannot be enabled without one."""
    secret_env: str = "NANOGATE_MEMORY_SECRET"
