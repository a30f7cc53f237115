"""Escrow: the slices of balances and daily allowances this process holds, in memory.

A gateway process *leases* a slice of an account's balance, or of a key's daily
request or spending allowance, in one database transaction (the demarcation
technique). It then admits requests against the slice here, without the
database, and writes what they consumed in group-committed settlements. The sum
of all processes' leases never exceeds what the database allows (the balance,
the daily limit), so no lease can let an account go below zero or a key past
its limits; a slice that is too small for a request is extended, and near the
end of an allowance slices shrink to exactly what each request needs.

Everything here is synchronous bookkeeping: :class:`Escrow` never does I/O.
"""

from __future__ import annotations

import math
from bisect import insort
from dataclasses import dataclass, field

BALANCE, REQUESTS, USD = "balance", "requests", "usd"

PoolKey = tuple[str, str, str]
"""``(kind, subject, day)``: ``("balance", account id, "")``, ``("requests", subject,
day)`` or ``("usd", subject, day)``."""

_KIND_ORDER = {REQUESTS: 0, USD: 1, BALANCE: 2}

RATE_WINDOW_S = 0.25
"""The time constant of the demand on each pool and of each subject's admission rate
(:class:`Seconds`)."""


def _decay(elapsed_s: float) -> float:
    """What is left of a count after ``elapsed_s`` of decay."""
    return math.exp(-max(0.0, elapsed_s) / RATE_WINDOW_S)


def lock_order(key: PoolKey) -> tuple[int, str, str]:
    """The order every transaction takes pools in: daily request allowances, daily
    spending allowances, balances; then by subject and day. Scripts lock the rows behind
    them in this order, so two transactions on PostgreSQL never wait for each other in
    a cycle (daily counters before accounts, accounts in one order)."""
    return _KIND_ORDER[key[0]], key[1], key[2]


LEASE_HOLDS = 32
"""A lease is extended by at least this many of the requesting hold's size at once, and
by more for a pool in demand: what it was asked for in about the last
:data:`RATE_WINDOW_S`."""
LEASE_SHARE = 8
"""...but never by more than this fraction of what is left free in the database, so
other processes find money and allowance left to lease; near the end of a balance
or a daily limit, leases shrink to exactly what each request needs."""


@dataclass(slots=True)
class Pool:
    """One lease: ``lease`` as the database has it, ``taken`` by requests in flight or
    consumed by settlements not yet written."""

    lease: int = 0
    taken: int = 0
    used_at: float = 0.0
    demand: float = 0.0
    """What requests asked of the pool, decayed over :data:`RATE_WINDOW_S`: about what
    they ask for in that long at their recent rate."""

    @property
    def free(self) -> int:
        return self.lease - self.taken


@dataclass(frozen=True, slots=True)
class Claim:
    """What a request needs from one pool. ``limit`` is the daily limit of a ``requests``
    or ``usd`` pool (``None`` for a balance)."""

    key: PoolKey
    amount: int
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A claim the pool could not cover: ``taking`` of it is still to take, ``short``
    must be leased for that (it includes any deficit of a pool whose lease was lost),
    and ``want`` more may be."""

    claim: Claim
    short: int
    want: int
    taking: int


class Escrow:
    """This process's pools, keyed by :data:`PoolKey`."""

    def __init__(self) -> None:
        self.pools: dict[PoolKey, Pool] = {}

    def pool(self, key: PoolKey) -> Pool:
        found = self.pools.get(key)
        if found is None:
            found = self.pools[key] = Pool()
        return found

    def take(self, claims: list[Claim], now: float) -> list[Shortfall]:
        """Take what each pool has free towards its claim; what remains short of each is
        returned (nothing, when the request is admitted here and now). What was taken
        stays taken until :meth:`covered` or :meth:`untake`."""
        short: list[Shortfall] = []
        for claim in claims:
            pool = self.pool(claim.key)
            pool.demand = claim.amount + pool.demand * _decay(now - pool.used_at)
            pool.used_at = now
            free = pool.free
            got = max(0, min(free, claim.amount))
            pool.taken += got
            missing = claim.amount - got
            if missing:
                deficit = max(0, -free)
                holds = max(LEASE_HOLDS, int(pool.demand) // claim.amount)
                short.append(Shortfall(claim, missing + deficit, claim.amount * holds, missing))
        return short

    def retake(self, shortfall: Shortfall) -> Shortfall | None:
        """Take what another request's lease freed meanwhile; what is still short."""
        pool = self.pool(shortfall.claim.key)
        got = max(0, min(pool.free, shortfall.taking))
        pool.taken += got
        taking = shortfall.taking - got
        if not taking:
            return None
        return Shortfall(shortfall.claim, taking + max(0, -pool.free), shortfall.want, taking)

    def covered(self, shortfall: Shortfall, granted: int) -> None:
        """A lease of ``granted`` (at least the shortfall) was written: the claim is whole."""
        pool = self.pool(shortfall.claim.key)
        pool.lease += granted
        pool.taken += shortfall.taking

    def untake(self, key: PoolKey, amount: int) -> None:
        """Give back what a refused, released or partly spent request had taken."""
        pool = self.pools.get(key)
        if pool is not None:
            pool.taken -= amount

    def consumed(self, key: PoolKey, amount: int) -> None:
        """A settlement written: ``amount`` left the lease, and is no longer taken."""
        pool = self.pool(key)
        pool.lease -= amount
        pool.taken -= amount

    def lost(self, key: PoolKey) -> None:
        """The database no longer has this lease (a process took this one for dead and
        released it): what is taken is now a deficit the next lease must cover."""
        self.pool(key).lease = 0

    def idle(self, now: float, idle_s: float, today: str) -> list[tuple[PoolKey, int]]:
        """Leases to give back: nothing in flight, and unused for ``idle_s`` or of a past
        day, in :func:`lock_order`. Their free part is taken until :meth:`returned` (or
        :meth:`untake`). Pools left with nothing are forgotten."""
        out: list[tuple[PoolKey, int]] = []
        for key in [k for k, p in self.pools.items() if p.lease <= 0 and p.taken <= 0]:
            del self.pools[key]
        for key, pool in sorted(self.pools.items(), key=lambda item: lock_order(item[0])):
            if pool.taken or pool.lease <= 0:
                continue
            if now - pool.used_at >= idle_s or (key[0] != BALANCE and key[2] != today):
                pool.taken += pool.lease
                out.append((key, pool.lease))
        return out

    def everything(self) -> list[tuple[PoolKey, int]]:
        """Every lease's free part, taken for giving back (the process stops)."""
        out: list[tuple[PoolKey, int]] = []
        for key, pool in sorted(self.pools.items(), key=lambda item: lock_order(item[0])):
            if pool.free > 0:
                amount = pool.free
                pool.taken += amount
                out.append((key, amount))
        return out

    def returned(self, key: PoolKey, amount: int) -> None:
        """A lease's part given back in the database."""
        self.consumed(key, amount)
        pool = self.pools[key]
        if pool.lease <= 0 and pool.taken <= 0:
            del self.pools[key]


SECONDS_LEASE_US = 50_000
"""Per-second admissions leased ahead are used within this long (50 ms) of their
lease, or not at all: each is stamped in the database as made at the lease's end
(see :func:`~nanogate.billing._scripts.lease_seconds`), so the longer a lease, the
more of a second an unused admission keeps from everyone."""


SECONDS_ROOMY_LEASE_US = 250_000
"""How long per-second admissions leased ahead stay usable for a subject far below its
limit here (see :data:`ROOMY_SHARE`): 250 ms. The admissions a lease keeps from
others are a sliver of the limit, so a longer lease costs no one anything, and it
makes a busy key's count one transaction in hundreds of requests."""

ROOMY_SHARE = 16
"""A subject is far below its per-second limit here while its recent rate in this
process is at most this fraction of the limit. Its leases are then the whole of what
it asks for in :data:`SECONDS_ROOMY_LEASE_US`, and the next is written ahead, before
the last runs out (:meth:`Seconds.running_low`)."""

SECONDS_LEASE_MAX = 256
"""The most per-second admissions leased at once, whatever the limit."""


PREFETCH_FROM = 8
"""Leases of fewer admissions than this are not written ahead."""


def seconds_wanted(limit: int) -> int:
    """The most admissions of a per-second limit of ``limit`` to lease at once: up to
    :data:`SECONDS_LEASE_MAX`, and at most :data:`LEASE_SHARE` of the limit; a limit
    under ``2 * LEASE_SHARE`` is counted one request at a time, as made."""
    return max(1, min(SECONDS_LEASE_MAX, limit // LEASE_SHARE))


@dataclass(order=True, slots=True)
class _Admissions:
    until: int
    left: int = field(compare=False)


class Seconds:
    """Per-second admissions this process leased ahead, per subject, each lease with the
    time by which its admissions must be used: microseconds on the clock the windows
    are stamped with, the lease's own stamp.

    A lease is half of what this process admitted for the subject in a lease's time,
    at its recent rate (a moving average over about :data:`RATE_WINDOW_S`): an
    unused admission keeps a place in the second from every process, so leases stay
    behind demand. A subject asking less than 40 times a second here is counted request
    by request, a busy one in leases of up to :func:`seconds_wanted`."""

    def __init__(self) -> None:
        self._leases: dict[str, list[_Admissions]] = {}
        self._rate: dict[str, tuple[float, int]] = {}
        """Per subject: the decayed count of admissions, and when it was last updated."""
        self._sizes: dict[str, int] = {}
        """Per subject: the size of its last lease."""

    def want(self, subject: str, limit: int, now: int, waiting: int = 0) -> int:
        """How many admissions to lease next for ``subject``: the request asking for the
        lease, the ``waiting`` requests queued behind it, and half of what its recent
        rate will ask for in a lease's time (all of it, far below the limit), at most
        :func:`seconds_wanted`."""
        per_second = self._per_second(subject, now)
        if per_second * ROOMY_SHARE <= limit:
            ahead = int(per_second * SECONDS_ROOMY_LEASE_US / 1_000_000)
        else:
            ahead = int(per_second * SECONDS_LEASE_US / 1_000_000 / 2)
        return max(1, min(max(ahead, 1 + waiting), seconds_wanted(limit)))

    def lease_us(self, subject: str, limit: int, now: int) -> int:
        """How long the next lease of ``subject`` stays usable: :data:`SECONDS_LEASE_US`,
        or :data:`SECONDS_ROOMY_LEASE_US` while the subject is far below ``limit``."""
        return SECONDS_ROOMY_LEASE_US if self._roomy(subject, limit, now) else SECONDS_LEASE_US

    def running_low(self, subject: str, limit: int, now: int) -> bool:
        """Whether to write the next lease of ``subject`` ahead, before a request finds
        none: it is far below ``limit``, its last lease was of several, and what its
        leases have left is a quarter of that or less."""
        last = self._sizes.get(subject, 0)
        if last < PREFETCH_FROM:
            return False
        left = sum(lease.left for lease in self._leases.get(subject, ()) if lease.until > now)
        return left * 4 <= last and self._roomy(subject, limit, now)

    def _per_second(self, subject: str, now: int) -> float:
        """The subject's recent admissions per second in this process."""
        return self._decayed(subject, now) / RATE_WINDOW_S

    def _roomy(self, subject: str, limit: int, now: int) -> bool:
        """Whether ``subject`` is far below ``limit`` here (see :data:`ROOMY_SHARE`)."""
        return self._per_second(subject, now) * ROOMY_SHARE <= limit

    def take(self, subject: str, now: int) -> int | None:
        """Take one admission for ``subject``: the deadline of the lease it came from, for
        :meth:`give_back`; ``None`` when there is none left in time."""
        leases = self._leases.get(subject)
        while leases:
            first = leases[0]
            if first.until <= now or first.left <= 0:
                leases.pop(0)
                continue
            first.left -= 1
            self._admitted(subject, now)
            return first.until
        return None

    def give_back(self, subject: str, until: int, now: int) -> None:
        """An admission taken for a request that was refused or cancelled before it was
        dispatched; usable again until its own lease's deadline."""
        if until <= now:
            return
        leases = self._leases.setdefault(subject, [])
        for lease in leases:
            if lease.until == until:
                lease.left += 1
                return
        insort(leases, _Admissions(until, 1))

    def leased(self, subject: str, size: int, until: int, now: int, used: int = 1) -> None:
        """``size`` admissions written for ``subject`` at ``now``, ``used`` of them at once
        (by the request that leased them), the rest to be used before ``until``."""
        for _ in range(used):
            self._admitted(subject, now)
        self._sizes[subject] = size
        if size > used:
            insort(self._leases.setdefault(subject, []), _Admissions(until, size - used))

    def expire(self, now: int) -> None:
        """Forget leases past their deadline, and the rates of subjects quiet for long."""
        for subject in list(self._leases):
            kept = [lease for lease in self._leases[subject] if lease.until > now and lease.left]
            if kept:
                self._leases[subject] = kept
            else:
                del self._leases[subject]
        quiet = now - int(RATE_WINDOW_S * 20 * 1_000_000)
        for subject in [s for s, (_, at) in self._rate.items() if at < quiet]:
            del self._rate[subject]
            self._sizes.pop(subject, None)

    def _decayed(self, subject: str, now: int) -> float:
        count, at = self._rate.get(subject, (0.0, now))
        return count * _decay((now - at) / 1_000_000)

    def _admitted(self, subject: str, now: int) -> None:
        self._rate[subject] = (self._decayed(subject, now) + 1.0, now)
