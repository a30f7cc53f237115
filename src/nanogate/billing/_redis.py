"""Per-second limits shared by several gateway instances: the last second in Redis.

Only the per-second logs live here: per subject, a sorted set of the requests of
the last second, so that no second, wherever it starts, admits more than the
limit. They are worth nothing after their second, so a Redis that restarts empty
loses at most the last second's counts. Daily request and spending counters,
like money, stay in the database (the source of truth), where gateway processes
lease parts of them; a Redis outage or restart can therefore never reset a day's
limits.

One Lua script forgets what is older than a second, checks the count and adds
what fits, so a refused request consumes nothing. A quiet subject's request adds
itself, at its own time, and one the database then refuses (its balance, its daily
limit) gives its slot back. A busy subject's request leases several admissions at
once, stamped at the lease's deadline, as with the database's windows (see
:class:`~nanogate.billing._escrow.Seconds`): the process hands them to the next
requests without a round trip.
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
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
if free <= 0 then return 0 end
local n = math.min(free, tonumber(ARGV[3]))
local stamp = tonumber(ARGV[4])
if tonumber(ARGV[3]) == 1 then  -- the request alone: named for give_back
    redis.call('ZADD', KEYS[1], stamp, ARGV[5])
else
    for i = 1, n do redis.call('ZADD', KEYS[1], stamp, ARGV[5] .. ':' .. i) end
end
redis.call('PEXPIRE', KEYS[1], 2000 + math.ceil((stamp - now) / 1000))
return n
"""
"""``ARGV``: the request's time in microseconds (the gateway's clock), the limit, how
many admissions are wanted, their stamp, and the request id (the members' name).
Returns how many were added, at most the room left in the last second."""

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


@dataclass(frozen=True, slots=True)
class Lease:
    """What :meth:`RedisLimiter.take` added: ``size`` admissions, the request's own
    among them; ``slot`` when that was the only one (given back to Redis if the request
    does not run), ``None`` for a lease of several (whose unused ones are this
    process's to hand on) or when Redis was away and limits fail open."""

    slot: Slot | None
    size: int


class RedisLimiter:
    """Per-second logs in Redis. With ``fail_open``, an unreachable Redis lets
    requests through without a per-second limit; otherwise it refuses them (503)."""

    def __init__(self, redis: Redis, prefix: str, fail_open: bool = False) -> None:
        self._redis = redis
        self._prefix = prefix
        self._fail_open = fail_open
        self._take = redis.register_script(_TAKE)
        self._give_back = redis.register_script(_GIVE_BACK)

    async def take(self, a: Admission, want: int = 1, stamp_us: int | None = None) -> Lease:
        """Count ``a`` in its second's window, with ``want - 1`` more admissions leased
        ahead, all stamped at ``stamp_us`` (default: the request's own time); or raise
        ``rate_limit_exceeded`` when there is no room. With Redis unreachable and limits
        failing open, the lease admits the request and holds nothing more."""
        assert a.limits.rps is not None
        key = f"{self._prefix}rate:{a.subject}"
        at = micros(a.now)
        stamp = at if stamp_us is None else stamp_us
        try:
            args: list[int | str] = [at, a.limits.rps, want, stamp, a.request_id]
            granted = int(await self._take(keys=[key], args=args))
        except (RedisError, OSError) as exc:
            if self._fail_open:
                log.warning("Redis is unreachable; per-second limits are lifted: %s", exc)
                return Lease(None, 1)
            raise RateLimitUnavailable() from exc
        if not granted:
            raise RateLimitExceeded(retry_after=1)
        return Lease(Slot(key, a.request_id) if want == 1 else None, granted)

    async def give_back(self, slot: Slot) -> None:
        """Uncount a request that was refused or cancelled after it took its slot."""
        try:
            await self._give_back(keys=[slot.key], args=[slot.member])
        except (RedisError, OSError):
            pass  # the window ends within a second anyway

    async def close(self) -> None:
        await self._redis.aclose()
