"""The money path: prices, limits, holds on balances, settlement and the ledger."""

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

__all__ = [
    "Admission",
    "Bill",
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
