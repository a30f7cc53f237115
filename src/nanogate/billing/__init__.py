"""The money path: prices, limits, holds on balances, settlement and the ledger."""

from nanogate.billing._calendar import day_of, second_of, seconds_until_midnight
from nanogate.billing._ledger import Ledger
from nanogate.billing._model import Admission, Hold, Limits, Replay
from nanogate.billing._pricing import cost, maximum_cost, usage_tokens, with_fee
from nanogate.billing._redis import RedisLimiter

__all__ = [
    "Admission",
    "Hold",
    "Ledger",
    "Limits",
    "RedisLimiter",
    "Replay",
    "cost",
    "day_of",
    "maximum_cost",
    "second_of",
    "seconds_until_midnight",
    "usage_tokens",
    "with_fee",
]
