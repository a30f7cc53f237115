"""The money path: prices, limits, holds on balances, settlement and the ledger.

The Redis limiter (``RedisLimiter``, ``Slot``, ``connect_redis``) loads redis-py when
first used, so a gateway without ``[redis] url`` never imports it."""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from nanogate.billing._redis import RedisLimiter, Slot
    from nanogate.billing._redis import connect as connect_redis

_REDIS = {"RedisLimiter": "RedisLimiter", "Slot": "Slot", "connect_redis": "connect"}


def __getattr__(name: str) -> Any:
    if name in _REDIS:
        from nanogate.billing import _redis

        return getattr(_redis, _REDIS[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Admission",
    "Bill",
    "Book",
    "Hold",
    "Ledger",
    "Limits",
    "RedisLimiter",
    "Replay",
    "Slot",
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
