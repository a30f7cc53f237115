"""Per-second limits shared by several gateway instances: windows counted in Redis.

Only the per-second windows live here. They are worth nothing after their
second, so a Redis that restarts empty loses at most the current second's
counts. Daily request and spending counters, like money, stay in the database
(the source of truth), where the request's hold is taken in the same
transaction; a Redis outage or restart can therefore never reset a day's limits.

One Lua script checks a window and counts the request only if it fits, so a
refused request consumes nothing; a request the database then refuses (its
balance, its daily limit) gives its slot back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from nanogate.billing._calendar import second_of
from nanogate.billing._model import Admission
from nanogate.errors import RateLimitExceeded, RateLimitUnavailable

log = logging.getLogger("nanogate.ledger")

_TAKE = """
local limit = tonumber(ARGV[1])
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count >= limit then return 0 end
redis.call('INCR', KEYS[1])
if count == 0 then redis.call('EXPIRE', KEYS[1], 2) end
return 1
"""

_GIVE_BACK = """
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('DECR', KEYS[1]) end
return 0
"""
"""Only a window that still exists is uncounted (a bare DECR would recreate an expired
one, without a time to live)."""

TIMEOUT_S = 2.0
"""How long a command may take before Redis is taken to be unreachable."""
HEALTH_CHECK_S = 5.0
"""A pooled connection idle for longer is checked with a PING before it is used."""


def connect(url: str) -> Redis:
    """A Redis client that survives a restarted server: a command that meets a dead
    pooled connection is retried once on a fresh one, and idle connections are
    checked before use. A hung server is not retried (it would only double the wait)."""
    return Redis.from_url(
        url,
        socket_timeout=TIMEOUT_S,
        socket_connect_timeout=TIMEOUT_S,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
        health_check_interval=HEALTH_CHECK_S,
    )


@dataclass(frozen=True, slots=True)
class Slot:
    """A request's place in a per-second window, to give back if it does not run."""

    key: str


class RedisLimiter:
    """Per-second windows in Redis. With ``fail_open``, an unreachable Redis lets
    requests through without a per-second limit; otherwise it refuses them (503)."""

    def __init__(self, redis: Redis, prefix: str, fail_open: bool = False) -> None:
        self._redis = redis
        self._prefix = prefix
        self._fail_open = fail_open
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def take(self, a: Admission) -> Slot | None:
        """Count ``a`` in its second's window, or raise ``rate_limit_exceeded``. Returns
        its slot, or ``None`` when Redis is unreachable and limits fail open."""
        assert a.limits.rps is not None
        key = f"{self._prefix}rate:{a.subject}:{second_of(a.now)}"
        try:
            taken = int(await self._take(keys=[key], args=[a.limits.rps]))
        except (RedisError, OSError) as exc:
            if self._fail_open:
                log.warning("Redis is unreachable; per-second limits are lifted: %s", exc)
                return None
            raise RateLimitUnavailable() from exc
        if not taken:
            raise RateLimitExceeded(retry_after=1)
        return Slot(key)

    async def give_back(self, slot: Slot) -> None:
        """Uncount a request that was refused or cancelled after it took its slot."""
        try:
            await self._give_back(keys=[slot.key])
        except (RedisError, OSError):
            pass  # the window ends within a second anyway

    async def close(self) -> None:
        await self._redis.aclose()
