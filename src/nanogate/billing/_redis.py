"""Per-second limits shared by several gateway instances: the last second in Redis.

Only the per-second logs live here: per subject, a sorted set of the requests of
the last second, so that no second, wherever it starts, admits more than the
limit. They are worth nothing after their second, so a Redis that restarts empty
loses at most the last second's counts. Daily request and spending counters,
like money, stay in the database (the source of truth), where gateway processes
lease parts of them; a Redis outage or restart can therefore never reset a day's
limits.

One Lua script forgets what is older than a second, checks the count and adds
the request only if it fits, so a refused request consumes nothing; a request
the database then refuses (its balance, its daily limit) gives its slot back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from nanogate.billing._calendar import micros
from nanogate.billing._model import Admission
from nanogate.errors import RateLimitExceeded, RateLimitUnavailable

log = logging.getLogger("nanogate.ledger")

_TAKE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 1000000)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], 2000)
return 1
"""
"""``ARGV``: the request's time in microseconds (the gateway's clock), the limit, the
request id."""

_GIVE_BACK = """
redis.call('ZREM', KEYS[1], ARGV[1])
return 0
"""

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
    """A request's place in a per-second log, to give back if it does not run."""

    key: str
    member: str


class RedisLimiter:
    """Per-second logs in Redis. With ``fail_open``, an unreachable Redis lets
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
        key = f"{self._prefix}rate:{a.subject}"
        try:
            taken = int(
                await self._take(keys=[key], args=[micros(a.now), a.limits.rps, a.request_id])
            )
        except (RedisError, OSError) as exc:
            if self._fail_open:
                log.warning("Redis is unreachable; per-second limits are lifted: %s", exc)
                return None
            raise RateLimitUnavailable() from exc
        if not taken:
            raise RateLimitExceeded(retry_after=1)
        return Slot(key, a.request_id)

    async def give_back(self, slot: Slot) -> None:
        """Uncount a request that was refused or cancelled after it took its slot."""
        try:
            await self._give_back(keys=[slot.key], args=[slot.member])
        except (RedisError, OSError):
            pass  # the window ends within a second anyway

    async def close(self) -> None:
        await self._redis.aclose()
