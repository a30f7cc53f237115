"""The money path: prices, limits, holds on balances, settlement and the ledger.

Each name loads its module when first used: a command that only reads the account
book never imports the pricing, the routing catalogue or the ledger, and a gateway
without ``[redis] url`` never imports redis-py (``RedisLimiter``, ``Slot``,
``connect_redis``)."""

from typing import TYPE_CHECKING

from nanogate._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from nanogate.billing._add_ons import MEMORY, WEB_SEARCH, add_on_refusal
    from nanogate.billing._book import Book
    from nanogate.billing._calendar import day_of, second_of, seconds_until_midnight
    from nanogate.billing._ledger import Ledger
    from nanogate.billing._model import Admission, Hold, Limits, Replay
    from nanogate.billing._pricing import (
        Bill,
        bill,
        cost,
        maximum_cost,
        output_allowance,
        usage_tokens,
        with_fee,
    )
    from nanogate.billing._redis import RedisLimiter, Slot
    from nanogate.billing._redis import connect as connect_redis

_LAZY = {
    "MEMORY": ("_add_ons", "MEMORY"),
    "WEB_SEARCH": ("_add_ons", "WEB_SEARCH"),
    "add_on_refusal": ("_add_ons", "add_on_refusal"),
    "Book": ("_book", "Book"),
    "day_of": ("_calendar", "day_of"),
    "second_of": ("_calendar", "second_of"),
    "seconds_until_midnight": ("_calendar", "seconds_until_midnight"),
    "Ledger": ("_ledger", "Ledger"),
    "Admission": ("_model", "Admission"),
    "Hold": ("_model", "Hold"),
    "Limits": ("_model", "Limits"),
    "Replay": ("_model", "Replay"),
    "Bill": ("_pricing", "Bill"),
    "bill": ("_pricing", "bill"),
    "cost": ("_pricing", "cost"),
    "maximum_cost": ("_pricing", "maximum_cost"),
    "output_allowance": ("_pricing", "output_allowance"),
    "usage_tokens": ("_pricing", "usage_tokens"),
    "with_fee": ("_pricing", "with_fee"),
    "RedisLimiter": ("_redis", "RedisLimiter"),
    "Slot": ("_redis", "Slot"),
    "connect_redis": ("_redis", "connect"),
}


__getattr__ = _lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "Admission",
    "Bill",
    "Book",
    "Hold",
    "Ledger",
    "Limits",
    "MEMORY",
    "RedisLimiter",
    "Replay",
    "Slot",
    "WEB_SEARCH",
    "add_on_refusal",
    "bill",
    "connect_redis",
    "cost",
    "day_of",
    "maximum_cost",
    "output_allowance",
    "second_of",
    "seconds_until_midnight",
    "usage_tokens",
    "with_fee",
]
