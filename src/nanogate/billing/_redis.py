"""Limits shared by several gateway instances: counters in Redis, checked atomically.

One Lua script counts a request against its per-second, per-day and
spending-per-day limits and refuses it without counting when a daily limit is
reached. Money never lives here: holds and the ledger stay in the database.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from nanogate.billing._calendar import day_of, second_of, seconds_until_midnight
from nanogate.billing._model import Admission, Hold
from nanogate.errors import (
    DailyRequestLimitExceeded,
    DailyUSDLimitExceeded,
    RateLimitExceeded,
    RateLimitUnavailable,
)

_ADMIT = """
local rps, rpd, usd_limit, amount, ttl =
    tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
if rps > 0 then
    local count = redis.call('INCR', KEYS[1])
    if count == 1 then redis.call('EXPIRE', KEYS[1], 2) end
    if count > rps then return 1 end
end
if rpd > 0 or usd_limit >= 0 then
    local requests = tonumber(redis.call('HGET', KEYS[2], 'requests') or '0')
    local usd = tonumber(redis.call('HGET', KEYS[2], 'usd') or '0')
    if rpd > 0 and requests >= rpd then return 2 end
    if usd_limit >= 0 and usd + amount > usd_limit then return 3 end
    redis.call('HINCRBY', KEYS[2], 'requests', 1)
    redis.call('HINCRBY', KEYS[2], 'usd', amount)
    redis.call('EXPIRE', KEYS[2], ttl)
end
return 0
"""

_DAY_TTL = 3 * 86400


class RedisLimiter:
    """Per-second and daily counters in Redis. With ``fail_open``, an unreachable Redis
    lets requests through unlimited; otherwise it refuses them (503)."""

    def __init__(self, redis: Redis, prefix: str, fail_open: bool = False) -> None:
        self._redis = redis
        self._prefix = prefix
        self._fail_open = fail_open
        self._admit = redis.register_script(_ADMIT)

    def _daily_key(self, subject: str, day: str) -> str:
        return f"{self._prefix}daily:{subject}:{day}"

    async def admit(self, a: Admission) -> bool:
        """Count ``a``; raise the 429 of the first limit it passes. Returns whether the
        daily counters include it (and must be corrected when it settles)."""
        limits = a.limits
        keys = [
            f"{self._prefix}rate:{a.subject}:{second_of(a.now)}",
            self._daily_key(a.subject, day_of(a.now)),
        ]
        usd_limit = -1 if limits.daily_usd_nusd is None else limits.daily_usd_nusd
        args = [limits.rps or 0, limits.daily_requests or 0, usd_limit, a.reserve_nusd, _DAY_TTL]
        try:
            refused = int(await self._admit(keys=keys, args=args))
        except (RedisError, OSError) as exc:
            if self._fail_open:
                return False
            raise RateLimitUnavailable() from exc
        if refused == 1:
            raise RateLimitExceeded(retry_after=1)
        if refused == 2:
            raise DailyRequestLimitExceeded(retry_after=seconds_until_midnight(a.now))
        if refused == 3:
            raise DailyUSDLimitExceeded(retry_after=seconds_until_midnight(a.now))
        return limits.daily

    async def adjust(self, subject: str, day: str, requests: int, usd_nusd: int) -> None:
        """Correct a day's counters: a refund, or a settled cost replacing its hold."""
        key = self._daily_key(subject, day)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                if requests:
                    pipe.hincrby(key, "requests", requests)
                if usd_nusd:
                    pipe.hincrby(key, "usd", usd_nusd)
                await pipe.execute()
        except (RedisError, OSError):
            pass  # a counter off by one request's hold until midnight; money is unaffected

    async def settled(self, hold: Hold, charged: int) -> None:
        await self.adjust(hold.subject, hold.day, 0, charged - hold.amount_nusd)

    async def close(self) -> None:
        await self._redis.aclose()
