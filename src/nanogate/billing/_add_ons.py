"""The paid add-ons' money: what a refusal names when only they do not fit, sans-IO.

A request that asks for web search or context memory holds their maximum cost with
its inference. When the balance covers the inference but not the add-ons, the 402
names what to drop (DESIGN section 10): with both asked, ``memory_balance_required``
if dropping memory would fit, else ``webSearch_balance_required`` if dropping search
would, else ``both_balance_required``; with one asked, its own code.
"""

from __future__ import annotations

from collections.abc import Mapping

from nanogate.errors import (
    BothBalanceRequired,
    InsufficientBalance,
    MemoryBalanceRequired,
    PaymentRequired,
    WebSearchBalanceRequired,
)

WEB_SEARCH = "webSearch"
MEMORY = "memory"


def add_on_refusal(
    refused: InsufficientBalance, inference_nusd: int, add_ons: Mapping[str, int]
) -> PaymentRequired:
    """The 402 for a request whose hold of ``inference_nusd`` plus ``add_ons`` (name →
    maximum cost) the balance refused: ``refused`` itself when the inference alone does
    not fit (or the add-ons are not the reason), else the add-on code, with the same
    ``requiredBalance``."""
    available = refused.available_nusd
    search, memory = add_ons.get(WEB_SEARCH), add_ons.get(MEMORY)
    if available is None or available < inference_nusd or (search is None and memory is None):
        return refused
    code: type[PaymentRequired]
    if search is not None and memory is not None:
        if available >= inference_nusd + search:
            code = MemoryBalanceRequired
        elif available >= inference_nusd + memory:
            code = WebSearchBalanceRequired
        else:
            code = BothBalanceRequired
    else:
        code = WebSearchBalanceRequired if search is not None else MemoryBalanceRequired
    return code(fields=refused.fields)
